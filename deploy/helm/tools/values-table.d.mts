/** Types of values-table.mjs (a plain script, run with node). */
export function valuesRows(source: string): { rows: [key: string, defaultValue: string, description: string][]; missing: string[] };
export function valuesTable(source: string): string;
export function readmeWithTable(readme: string, table: string): string;
