/**
 * The few Grafana HTTP API calls the annotator needs: find an annotation by tag, create one,
 * update one. Authenticated with a service account token (`Authorization: Bearer`).
 */
export interface GrafanaAnnotation {
  id?: number;
  dashboardUID?: string;
  time: number;
  timeEnd?: number;
  tags: string[];
  text: string;
}

export class GrafanaError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
  /** 5xx and 429 may pass; 4xx will not. */
  get retriable(): boolean {
    return this.status >= 500 || this.status === 429;
  }
}

export class GrafanaClient {
  constructor(
    private readonly baseUrl: string,
    private readonly token: string,
    private readonly timeoutMs = 10_000,
  ) {}

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(new URL(path, this.baseUrl.endsWith('/') ? this.baseUrl : `${this.baseUrl}/`), {
      method,
      headers: { authorization: `Bearer ${this.token}`, 'content-type': 'application/json', accept: 'application/json' },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(this.timeoutMs),
    });
    const text = await res.text();
    if (!res.ok) throw new GrafanaError(res.status, `Grafana ${method} ${path}: HTTP ${res.status} ${text.slice(0, 200)}`);
    return (text ? JSON.parse(text) : {}) as T;
  }

  /** Annotations carrying every one of `tags`. */
  find(tags: string[]): Promise<GrafanaAnnotation[]> {
    const q = new URLSearchParams([['type', 'annotation'], ['limit', '10'], ...tags.map((t) => ['tags', t] as [string, string])]);
    return this.call('GET', `api/annotations?${q}`);
  }

  async create(a: GrafanaAnnotation): Promise<number> {
    return (await this.call<{ id: number }>('POST', 'api/annotations', a)).id;
  }

  async update(id: number, a: GrafanaAnnotation): Promise<void> {
    await this.call('PUT', `api/annotations/${id}`, a);
  }
}
