/** Types of environment-table.mjs (a plain script, run with node). */
export const CLASS_SOURCE: string;
export const README: string;
export function environmentRows(
  environmentClass: new () => object,
  source: string,
): { rows: [variable: string, defaultValue: string, meaning: string][]; problems: string[] };
export function environmentTable(rows: readonly (readonly [string, string, string])[]): string;
export function readmeWithTable(readme: string, table: string): string;
