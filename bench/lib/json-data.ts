import { readCsvRecords } from '../../handlers/shared/csv.js';
import { CellRefusal, convertCell, type DatasetSchema } from '../../handlers/shared/dataset.js';
import { streamOf } from './data.js';

/**
 * The rows of a generated CSV file as JSON Lines, one object per line: the same
 * records, so the JSON runs of the bench compare like with like. Numbers are written
 * with their exact CSV text, booleans as true/false, and empty optional cells
 * alternately as `null` and as an absent member (both are an empty cell).
 */
export async function jsonLinesOf(csv: Buffer, schema: DatasetSchema): Promise<Buffer> {
  const lines: string[] = [];
  let header: string[] | undefined;
  let empty = 0;
  for await (const record of readCsvRecords(streamOf(csv), {
    delimiter: schema.delimiter,
    maxRecordBytes: 400 * 1024,
  })) {
    if (header === undefined) {
      header = record.fields;
      continue;
    }
    const members: string[] = [];
    record.fields.forEach((field, position) => {
      const column = schema.columns.find((candidate) => candidate.name === header?.[position]);
      if (column === undefined) return;
      const value = convertCell(column, field);
      if (value instanceof CellRefusal) throw new Error(`line ${record.line}: ${value.reason}`);
      const name = JSON.stringify(column.name);
      if (value === undefined) {
        if (empty++ % 2 === 0) members.push(`${name}:null`);
        return;
      }
      const numeric = column.type === 'number' || column.type === 'integer';
      members.push(`${name}:${numeric ? String(value) : JSON.stringify(value)}`);
    });
    lines.push(`{${members.join(',')}}`);
  }
  return Buffer.from(`${lines.join('\n')}\n`);
}
