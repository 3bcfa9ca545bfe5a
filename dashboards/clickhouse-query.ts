/**
 * A query of the Grafana ClickHouse data source plugin (grafana-clickhouse-datasource v4) as a
 * foundation-SDK builder. The SDK has no type for this plugin; its way is a `cog.Dataquery`
 * implementation plus a `cog.Builder` for it. Shape: `{ refId, datasource, editorType: 'sql',
 * queryType, rawSql }` (see the plugin's src/types/sql.ts).
 */
import type * as cog from '@grafana/grafana-foundation-sdk/cog';
import type * as common from '@grafana/grafana-foundation-sdk/common';

export type ClickHouseQueryType = 'table' | 'timeSeries' | 'logs' | 'traces';

export interface ClickHouseQuery extends cog.Dataquery {
  refId: string;
  datasource?: common.DataSourceRef;
  editorType: 'sql';
  queryType: ClickHouseQueryType;
  rawSql: string;
}

export class ClickHouseQueryBuilder implements cog.Builder<cog.Dataquery> {
  private readonly query: ClickHouseQuery;

  constructor(rawSql: string, queryType: ClickHouseQueryType = 'table') {
    this.query = { refId: 'A', editorType: 'sql', queryType, rawSql: rawSql.trim().replace(/\n\s+/g, '\n'), _implementsDataqueryVariant: () => {} };
  }

  refId(refId: string): this {
    this.query.refId = refId;
    return this;
  }

  datasource(ref: common.DataSourceRef): this {
    this.query.datasource = ref;
    return this;
  }

  build(): ClickHouseQuery {
    return this.query;
  }
}
