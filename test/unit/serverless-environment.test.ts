import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { functionEnvironment } from '../../bench/lib/serverless-environment.js';

const yml = (environment: string) => `provider:
  environment:
    BOT_TOKEN: '{{resolve:ssm:/x/bot-token}}'

functions:
  webhook:
    handler: handlers/webhook.handler
    # a comment
    environment:
${environment}
    events:
      - httpApi:
          method: POST
  other:
    environment:
      OTHER: 'no'
`;

describe('functionEnvironment (the memory benchmark runs the handler with the function environment of serverless.yml)', () => {
  it('reads the function own plain variables, not the provider ones nor another function', () => {
    const env = functionEnvironment(yml(`      # why
      MALLOC_MMAP_THRESHOLD_: '32768'
      PLAIN: 12
      DOUBLE: "a b"`), 'webhook');
    expect(env).toEqual({ MALLOC_MMAP_THRESHOLD_: '32768', PLAIN: '12', DOUBLE: 'a b' });
  });

  it('refuses a value it would pass on wrong (a variable or a reference) and an unknown function', () => {
    expect(() => functionEnvironment(yml("      STAGE: ${sls:stage}"), 'webhook')).toThrow(/not a plain value/);
    expect(() => functionEnvironment(yml('      URL:\n        Fn::Join: [a]'), 'webhook')).toThrow(/not a plain value/);
    expect(() => functionEnvironment(yml("      A: '1'"), 'missing')).toThrow(/no function missing/);
  });

  it('finds the settings of the repository serverless.yml', () => {
    const env = functionEnvironment(readFileSync(new URL('../../serverless.yml', import.meta.url), 'utf8'), 'webhook');
    expect(env.MALLOC_MMAP_THRESHOLD_).toBe('32768');
    expect(env).not.toHaveProperty('BOT_TOKEN');
  });
});
