import type { FileFormat } from './dataset.js';

/**
 * Which format a file is: by its name's extension, else by its content type, else
 * by sniffing its first non-blank byte (`[` a JSON array, `{` JSON Lines, anything
 * else CSV). Generic content types (text/plain, S3's octet-stream defaults) say
 * nothing about the format, so they do not decide.
 */

/** Extensions that decide the format (compared case-insensitively). */
export const FORMAT_EXTENSIONS: Readonly<Record<FileFormat, readonly string[]>> = {
  csv: ['.csv'],
  jsonl: ['.jsonl', '.ndjson'],
  json: ['.json'],
};

/** Content types that decide the format. */
export const FORMAT_CONTENT_TYPES: Readonly<Record<FileFormat, readonly string[]>> = {
  csv: ['text/csv', 'application/csv', 'text/comma-separated-values', 'application/vnd.ms-excel'],
  jsonl: [
    'application/jsonl',
    'application/x-jsonlines',
    'application/x-ndjson',
    'application/ndjson',
  ],
  json: ['application/json', 'text/json'],
};

/** Content types that say nothing about the format: the extension or the first byte decides. */
export const GENERIC_CONTENT_TYPES: readonly string[] = [
  'text/plain',
  'application/octet-stream',
  'binary/octet-stream',
];

/** A format's name for people. */
export const FORMAT_NAMES: Readonly<Record<FileFormat, string>> = {
  csv: 'CSV',
  jsonl: 'JSON Lines',
  json: 'JSON array',
};

/** How the format was chosen, for messages and logs. */
export type FormatChoice =
  | {
      readonly format: FileFormat;
      readonly by: 'extension' | 'content type' | 'first byte';
      readonly detail: string;
    }
  | { readonly format: undefined; readonly by: 'unknown'; readonly detail: string };

/**
 * The format that the name or the content type decides; `undefined` when neither
 * does (the first byte decides, see sniffFormat). `mediaType` is lower-case, without
 * parameters. Throws nothing: a content type of another kind is `unsupported`.
 */
export function formatOf(
  key: string,
  mediaType: string,
): FormatChoice | { readonly unsupported: string } {
  const lowerKey = key.toLowerCase();
  for (const format of FORMATS) {
    const extension = FORMAT_EXTENSIONS[format].find((candidate) => lowerKey.endsWith(candidate));
    if (extension !== undefined) return { format, by: 'extension', detail: extension };
  }
  if (mediaType !== '' && !GENERIC_CONTENT_TYPES.includes(mediaType)) {
    for (const format of FORMATS) {
      if (FORMAT_CONTENT_TYPES[format].includes(mediaType)) {
        return { format, by: 'content type', detail: mediaType };
      }
    }
    return { unsupported: mediaType };
  }
  return { format: undefined, by: 'unknown', detail: mediaType || 'no content type' };
}

/** Every content type that is accepted at all, for messages. */
export function acceptedContentTypes(): string[] {
  return [...FORMATS.flatMap((format) => FORMAT_CONTENT_TYPES[format]), ...GENERIC_CONTENT_TYPES];
}

/**
 * The format its first non-blank byte shows (after a UTF-8 BOM): `[` a JSON array,
 * `{` JSON Lines, anything else CSV. `head` holds the file's first bytes; blank
 * means space, tab, CR and LF.
 */
export function sniffFormat(head: Uint8Array): FileFormat {
  const at = firstNonBlank(head);
  if (head[at] === 0x5b) return 'json';
  if (head[at] === 0x7b) return 'jsonl';
  return 'csv';
}

/** Index of the first byte that is not blank (nor a leading UTF-8 BOM), or -1. */
export function firstNonBlank(head: Uint8Array): number {
  let at = head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf ? 3 : 0;
  while (at < head.length && [0x20, 0x09, 0x0d, 0x0a].includes(head[at] ?? 0)) at++;
  return at < head.length ? at : -1;
}

/** Bytes read ahead for sniffing: the first piece of the body holding a non-blank byte, at most this far. */
export const SNIFF_BYTES = 64 * 1024;

const FORMATS: readonly FileFormat[] = ['csv', 'jsonl', 'json'];
