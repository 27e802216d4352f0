import { createRequire } from 'node:module';
import * as errors from '../../handlers/shared/errors.js';
import {
  loadDefinition,
  placeholders,
  readDefinitionText,
  SAMPLE_SUBSTITUTIONS,
} from '../support/workflow-definition.js';

type Validator = (
  definition: unknown,
  options?: { checkPaths?: boolean; checkArn?: boolean },
) => { isValid: boolean; errorsText: (separator?: string) => string };

// asl-validator is CommonJS without type declarations.
const validate = createRequire(import.meta.url)('asl-validator') as Validator;

interface Retrier {
  ErrorEquals: string[];
  MaxAttempts?: number;
  JitterStrategy?: string;
}
interface State {
  Type: string;
  Resource?: string;
  Retry?: Retrier[];
  Catch?: { ErrorEquals: string[]; Next: string; ResultPath?: string }[];
  ItemProcessor?: { States: Record<string, State> };
  [field: string]: unknown;
}

const definition = loadDefinition() as { StartAt: string; States: Record<string, State> };
const states = definition.States;
const loadChunks = states.LoadChunks as State;
const innerStates = loadChunks.ItemProcessor?.States ?? {};
const allStates: [string, State][] = [...Object.entries(states), ...Object.entries(innerStates)];

describe('statemachines/ingest-file.asl.json', () => {
  it('is valid Amazon States Language once substituted (asl-validator, paths and ARNs checked)', () => {
    const result = validate(loadDefinition());
    expect({ isValid: result.isValid, errors: result.errorsText('\n') }).toEqual({
      isValid: true,
      errors: '',
    });
  });

  it('is valid JSON and valid ASL before substitution (placeholders only in strings)', () => {
    // asl-validator accepts a whole-string `${...}` Resource as a deploy-time substitution.
    const result = validate(JSON.parse(readDefinitionText()));
    expect({ isValid: result.isValid, errors: result.errorsText('\n') }).toEqual({
      isValid: true,
      errors: '',
    });
  });

  it('uses exactly the documented substitution variables', () => {
    expect(placeholders(readDefinitionText())).toEqual(Object.keys(SAMPLE_SUBSTITUTIONS).sort());
  });

  it('runs PlanFile → LoadChunks → Summarize → Succeeded', () => {
    expect(definition.StartAt).toBe('Configure');
    expect(states.Configure?.Next).toBe('PlanFile');
    expect(states.PlanFile?.Next).toBe('LoadChunks');
    expect(loadChunks.Next).toBe('Summarize');
    expect(states.Summarize?.Next).toBe('Succeeded');
    expect(states.Succeeded?.Type).toBe('Succeed');
  });

  it('binds the Lambda tasks by the names the local stack overrides', () => {
    expect(states.PlanFile?.Resource).toBe(SAMPLE_SUBSTITUTIONS.PlanFileFunctionArn);
    expect(innerStates.LoadChunk?.Resource).toBe(SAMPLE_SUBSTITUTIONS.LoadChunkFunctionArn);
    expect(states.BuildFailureRecord?.Resource).toBe(SAMPLE_SUBSTITUTIONS.FailureRecordFunctionArn);
    expect(states.SendToDeadLetterQueue?.Resource).toBe('arn:aws:states:::sqs:sendMessage');
  });

  it('takes the Map concurrency from the substitution as an integer', () => {
    expect(loadChunks.MaxConcurrencyPath).toBe('$.settings.mapMaxConcurrency');
    expect(states.Configure?.Parameters).toEqual({
      'mapMaxConcurrency.$': "States.StringToJson('4')",
    });
  });

  it('retries only with full jitter and a bounded number of attempts', () => {
    const retriers = allStates.flatMap(([, state]) => state.Retry ?? []);
    expect(retriers.length).toBeGreaterThan(0);
    for (const retrier of retriers) {
      expect(retrier).toMatchObject({ JitterStrategy: 'FULL', MaxAttempts: expect.any(Number) });
    }
  });

  it.each([
    'Lambda.ServiceException',
    'Lambda.AWSLambdaException',
    'Lambda.SdkClientException',
    'Lambda.TooManyRequestsException',
  ])('retries %s on both Lambda tasks', (error) => {
    for (const task of [states.PlanFile, innerStates.LoadChunk]) {
      expect(task?.Retry?.flatMap((retrier) => retrier.ErrorEquals)).toContain(error);
    }
  });

  it.each([
    [
      'LoadChunk',
      () => innerStates.LoadChunk,
      [errors.ChunkTimeBudgetExceededError, errors.ChunkReadError],
      [
        errors.ObjectChangedError,
        errors.ChunkPlanMismatchError,
        errors.ChunkWriteError,
        errors.ObjectAccessError,
        errors.ConfigurationError,
        errors.MalformedFileEventError,
        // Already retried by the loader for its budget: the workflow does not wait again.
        errors.ServiceUnreachableError,
      ],
    ],
    [
      'PlanFile',
      () => states.PlanFile,
      [errors.FileReadError],
      [
        errors.InvalidFileError,
        errors.MalformedCsvError,
        errors.EmptyFileError,
        errors.UnsupportedFileTypeError,
        errors.FileTooLargeError,
        errors.ObjectNotFoundError,
        errors.PlanTooLargeError,
        errors.ObjectAccessError,
      ],
    ],
  ])(
    'retries the %s errors that are transient by design, and none of the terminal ones',
    (_name, task, retryable, terminal) => {
      const retried = new Set((task()?.Retry ?? []).flatMap((retrier) => retrier.ErrorEquals));
      for (const error of retryable) expect(retried).toContain(error.name);
      for (const error of terminal) expect(retried).not.toContain(error.name);
    },
  );

  it.each(['Lambda.Unknown', 'Runtime.ExitError', 'Sandbox.Timedout'])(
    're-runs a chunk whose loader crashed or timed out (%s), a bounded number of times',
    (error) => {
      const retrier = innerStates.LoadChunk?.Retry?.find((candidate) =>
        candidate.ErrorEquals.includes(error),
      );
      expect(retrier?.MaxAttempts).toBeGreaterThan(0);
      expect(retrier?.MaxAttempts).toBeLessThanOrEqual(3);
    },
  );

  it('names in Retry only errors that exist (AWS names or classes in errors.ts)', () => {
    const ours = new Set(Object.keys(errors));
    for (const [, state] of allStates) {
      for (const name of (state.Retry ?? []).flatMap((retrier) => retrier.ErrorEquals)) {
        const known = /^(States|Lambda|Sandbox|Runtime)\./.test(name) || ours.has(name);
        expect({ name, known }).toEqual({ name, known: true });
      }
    }
  });

  it('catches every failure of the Lambda steps into a failure record, then the DLQ, then Fail', () => {
    expect(states.PlanFile?.Catch).toEqual([
      { ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'PlanFileFailed' },
    ]);
    // A task inside the Map cannot leave it: its error fails the Map, which catches it.
    expect(loadChunks.Catch).toEqual([
      { ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'LoadChunksFailed' },
    ]);
    for (const [name, failedState] of [
      ['PlanFileFailed', 'PlanFile'],
      ['LoadChunksFailed', 'LoadChunk'],
    ] as const) {
      expect(states[name]).toMatchObject({
        Type: 'Pass',
        Next: 'BuildFailureRecord',
        Parameters: {
          'Records.$': '$$.Execution.Input.Records',
          failure: {
            'error.$': '$.error.Error',
            'cause.$': '$.error.Cause',
            'executionArn.$': '$$.Execution.Id',
            state: failedState,
            'time.$': '$$.State.EnteredTime',
          },
        },
      });
    }
    // The record is made safe to send before it is sent; the message body is its text.
    expect(states.BuildFailureRecord).toMatchObject({
      Type: 'Task',
      Next: 'SendToDeadLetterQueue',
      Catch: [
        { ErrorEquals: ['States.ALL'], ResultPath: '$.lostBecause', Next: 'FailureRecordLost' },
      ],
    });
    expect(states.SendToDeadLetterQueue).toMatchObject({
      Parameters: {
        QueueUrl: SAMPLE_SUBSTITUTIONS.DeadLetterQueueUrl,
        'MessageBody.$': '$.messageBody',
        MessageAttributes: { error: { DataType: 'String', 'StringValue.$': '$.errorAttribute' } },
      },
      ResultPath: null,
      Next: 'Failed',
      Catch: [
        { ErrorEquals: ['States.ALL'], ResultPath: '$.lostBecause', Next: 'FailureRecordLost' },
      ],
    });
    expect(states.Failed).toMatchObject({
      Type: 'Fail',
      ErrorPath: '$.failure.error',
      CausePath: '$.failure.cause',
    });
  });

  it('fails with FailureRecordLostError, naming the file, when the record cannot be built or sent', () => {
    expect(states.FailureRecordLost).toMatchObject({ Type: 'Pass', Next: 'FailedWithoutRecord' });
    const parameters = states.FailureRecordLost?.Parameters as Record<string, string>;
    expect(parameters['cause.$']).toContain('$$.Execution.Input.file.key');
    // The alarm on lost records matches this very name.
    expect(states.FailedWithoutRecord).toEqual({
      Type: 'Fail',
      Comment: expect.any(String),
      Error: errors.FailureRecordLostError.name,
      CausePath: '$.cause',
    });
  });

  it('keeps rows out of state: the Map passes the dataset, byte ranges and the upload stamp, and discards chunk summaries', () => {
    expect(loadChunks.ItemSelector).toEqual({
      'dataset.$': '$.plan.dataset',
      'object.$': '$.plan.object',
      'format.$': '$.plan.format',
      'header.$': '$.plan.header',
      'chunk.$': '$$.Map.Item.Value',
      'upload.$': '$.upload',
    });
    expect(loadChunks.ResultPath).toBeNull();
  });
});
