import type { UploadStamp } from './upload-order.js';

/** An item as the loader writes it (DynamoDB's wire form: `{ S: … }`, `{ N: … }`). */
type StampableItem = Record<string, { readonly S: string } | { readonly N: string } | object>;

/**
 * Provenance: the reserved attributes every loaded item carries, saying which file
 * version and line wrote it, and the DynamoDB condition that lets a write replace
 * an item only when the writer's (upload order, line) is newer than the stored one's.
 * The API keeps these attributes out of record bodies (`?include=source` shows them).
 */

/** The reserved attribute names (a dataset column may not use one). */
export const PROVENANCE = {
  /** S3 eventTime of the upload (UTC, milliseconds): first field of the upload order. */
  uploadedAt: '_uploaded_at',
  /** Object key of the source file: second field of the upload order. */
  key: '_source_key',
  /** S3 sequencer of the upload, padded: third field of the upload order. */
  sequencer: '_source_sequencer',
  /** versionId (else ETag) of the source file version. */
  version: '_source_version',
  /** 1-based physical line of the record in the source file: the last field. */
  line: '_source_line',
} as const;

/** Every reserved attribute name. */
export const RESERVED_ATTRIBUTES: readonly string[] = Object.values(PROVENANCE);

/** Where one stored record came from, as the API shows it with `?include=source`. */
export interface RecordSource {
  readonly key: string;
  readonly version: string;
  readonly line: number;
  readonly uploadedAt: string;
  readonly sequencer: string;
}

/** The provenance values one upload gives every item, in DynamoDB's wire form. */
export interface UploadAttributes {
  readonly uploadedAt: { readonly S: string };
  readonly key: { readonly S: string };
  readonly sequencer: { readonly S: string };
  readonly version: { readonly S: string };
}

/** The stored provenance values of an upload: made once per chunk, shared by all its items. */
export function uploadAttributes(upload: UploadStamp): UploadAttributes {
  return {
    uploadedAt: { S: upload.uploadedAt },
    key: { S: upload.key },
    sequencer: { S: upload.sequencer },
    version: { S: upload.version },
  };
}

/**
 * Adds the provenance attributes of an upload (uploadAttributes, shared by every item
 * of the chunk) and the record's line to an item, in place: the line is the only
 * value made per row.
 */
export function stampItem<I extends StampableItem>(
  item: I,
  upload: UploadAttributes,
  line: number,
): I {
  const stamped = item as StampableItem;
  stamped[PROVENANCE.uploadedAt] = upload.uploadedAt;
  stamped[PROVENANCE.key] = upload.key;
  stamped[PROVENANCE.sequencer] = upload.sequencer;
  stamped[PROVENANCE.version] = upload.version;
  stamped[PROVENANCE.line] = { N: lineText(line) };
  return item;
}

/**
 * The decimal text of a line number, built without V8's number-string cache: String()
 * and template literals keep each number they turn into text in that cache, so every
 * row's line text would outlive its item and survive the next scavenge (hundreds of KB
 * per scavenge over a load, enough for V8 to keep doubling its young generation and
 * the loader's peak RSS to grow with the rows loaded). toFixed(0) gives the same
 * digits for an integer and caches nothing.
 */
export function lineText(line: number): string {
  return line.toFixed(0);
}

/** The line a stamped item came from. */
export function stampedLine(item: Readonly<Record<string, unknown>>): number {
  const value = item[PROVENANCE.line] as { readonly N?: string } | undefined;
  return Number(value?.N);
}

/**
 * Bytes the provenance attributes add to an item as DynamoDB counts them (names plus
 * values; the line as a number of up to 16 digits), so the planner can refuse a row
 * whose item would exceed 400 KB once stamped.
 */
export function provenanceBytes(stamp: UploadStamp): number {
  const text = (value: string) => Buffer.byteLength(value, 'utf8');
  const names = RESERVED_ATTRIBUTES.reduce((sum, name) => sum + text(name), 0);
  const lineBytes = 9; // a 16-digit number: 8 bytes of digits + 1
  return (
    names +
    text(stamp.uploadedAt) +
    text(stamp.key) +
    text(stamp.sequencer) +
    text(stamp.version) +
    lineBytes
  );
}

/**
 * Condition expression text for "the stored (upload order[, line]) is older than,
 * or equal to, the writer's": attribute placeholders `#pa #pk #ps [#pl]`, values
 * `:pa :pk :ps [:pl]`. Strings compare by UTF-8 bytes, as compareUploads does.
 * An item without `#pa` (never loaded with provenance) is always older.
 *
 * The tuple comparison is spelled as a flat OR of ANDs, one level of parentheses:
 * dynalite's expression parser takes time exponential in the nesting depth (the
 * nested form of the same condition cost it about 100 ms per PutItem, this one 5 ms).
 */
export function notNewerThanWriter(withLine: boolean): string {
  const last = withLine ? ['#ps = :ps AND #pl <= :pl', '#ps < :ps'] : ['#ps <= :ps'];
  return [
    'attribute_not_exists(#pa)',
    '#pa < :pa',
    '(#pa = :pa AND #pk < :pk)',
    ...last.map((term) => `(#pa = :pa AND #pk = :pk AND ${term})`),
  ].join(' OR ');
}

/** The placeholder names of notNewerThanWriter for the given attribute names. */
export function orderAttributeNames(
  names: { readonly uploadedAt: string; readonly key: string; readonly sequencer: string },
  line?: string,
): Record<string, string> {
  return {
    '#pa': names.uploadedAt,
    '#pk': names.key,
    '#ps': names.sequencer,
    ...(line === undefined ? {} : { '#pl': line }),
  };
}

/** The placeholder values of notNewerThanWriter for a writer. */
export function orderAttributeValues(
  stamp: UploadStamp,
  line?: number,
): Record<string, string | number> {
  return {
    ':pa': stamp.uploadedAt,
    ':pk': stamp.key,
    ':ps': stamp.sequencer,
    ...(line === undefined ? {} : { ':pl': line }),
  };
}

/**
 * Splits a stored item into the record body (every non-reserved attribute, in
 * stored order) and its source (undefined for an item loaded before provenance).
 */
export function splitProvenance<V>(item: Readonly<Record<string, V>>): {
  readonly record: Record<string, V>;
  readonly source: RecordSource | undefined;
} {
  const record: Record<string, V> = {};
  for (const [name, value] of Object.entries(item)) {
    if (!RESERVED.has(name)) record[name] = value;
  }
  const uploadedAt = item[PROVENANCE.uploadedAt];
  if (uploadedAt === undefined) return { record, source: undefined };
  return {
    record,
    source: {
      key: String(item[PROVENANCE.key] ?? ''),
      version: String(item[PROVENANCE.version] ?? ''),
      line: Number(String(item[PROVENANCE.line] ?? 0)),
      uploadedAt: String(uploadedAt),
      sequencer: String(item[PROVENANCE.sequencer] ?? ''),
    },
  };
}

const RESERVED = new Set(RESERVED_ATTRIBUTES);
