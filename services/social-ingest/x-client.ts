/**
 * The X API v2 client (`twitter-api-v2`), optionally pointed at another base URL (a proxy, or a
 * local server in tests). The library has no option for it and its `cloneWithPrefix()` throws, so
 * a small subclass calls the protected `setPrefix`; an `http://` base also needs an http agent
 * (the library uses `https.request` otherwise).
 */
import { Agent } from 'node:http';
import { TwitterApi, TwitterApiv2 } from 'twitter-api-v2';

class PrefixedV2 extends TwitterApiv2 {
  constructor(base: TwitterApi, prefix: string) {
    super(base);
    this.setPrefix(prefix.endsWith('/') ? prefix : `${prefix}/`);
  }
}

export function xClient(bearerToken: string, apiPrefix?: string): TwitterApiv2 {
  const plainHttp = apiPrefix?.startsWith('http://');
  const base = new TwitterApi(bearerToken, plainHttp ? { httpAgent: new Agent({ keepAlive: true }) } : {});
  return apiPrefix ? new PrefixedV2(base, apiPrefix) : base.v2;
}
