import { Aws, Fn } from 'aws-cdk-lib';

/**
 * The first group of the stack id's UUID (8 hex digits, e.g. `1c2fa620` from
 * `arn:aws:cloudformation:...:stack/CsvIngestion-dev/1c2fa620-982a-11e3-aff7-50e2416294e0`):
 * fixed for the stack's life, new for every stack created, and it reveals nothing about
 * the account. Names that must be unique per account and region end with it, so a stack
 * deleted with its data retained can be created again next to what it left behind.
 */
export function stackIdSuffix(): string {
  return Fn.select(0, Fn.split('-', Fn.select(2, Fn.split('/', Aws.STACK_ID))));
}

/** `order-items` → `OrderItems`: a dashed name as a construct id or output name part. */
export function pascal(name: string): string {
  return name
    .split('-')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');
}
