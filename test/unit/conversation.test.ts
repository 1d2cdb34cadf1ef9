import { describe, expect, it } from 'vitest';
import { END, checkConversation, runConversation, type ConversationDefinition, type ConversationStateAccess } from '../../src/index.js';

function access(initial?: string): ConversationStateAccess & { history: Array<string | null> } {
  let state: string | undefined = initial;
  const history: Array<string | null> = [];
  return {
    history,
    get state() {
      return state;
    },
    set(next) {
      history.push(next);
      state = next ?? undefined;
    },
  };
}

const is = (word: string) => (text: string) => text === word;
const survey: ConversationDefinition<string> = {
  name: 'survey',
  entryPoints: [{ match: is('/survey'), handle: () => 'NAME' }],
  states: {
    NAME: [{ match: (text) => !text.startsWith('/'), handle: () => 'AGE' }],
    AGE: [{ match: (text) => /^\d+$/.test(text), handle: () => END }, { match: () => true, handle: () => undefined }],
  },
  fallbacks: [{ match: is('/cancel'), handle: () => END }],
};

describe('runConversation', () => {
  it('starts at an entry point and records the state it returns', async () => {
    const state = access();
    expect(await runConversation(survey, '/survey', state)).toBe(true);
    expect(state.state).toBe('NAME');
  });

  it('leaves an update no entry point matches to the next handler', async () => {
    const state = access();
    expect(await runConversation(survey, 'hello', state)).toBe(false);
    expect(state.history).toEqual([]);
  });

  it('runs the step of the current state, and stays when the step returns undefined', async () => {
    const state = access('AGE');
    expect(await runConversation(survey, 'thirty', state)).toBe(true);
    expect(state.state).toBe('AGE');
    await runConversation(survey, '30', state);
    expect(state.history).toEqual([null]);
    expect(state.state).toBeUndefined();
  });

  it('falls back when no step of the state matches', async () => {
    const state = access('NAME');
    expect(await runConversation(survey, '/cancel', state)).toBe(true);
    expect(state.history).toEqual([null]);
  });

  it('ignores entry points during a conversation unless re-entry is allowed', async () => {
    const state = access('NAME');
    expect(await runConversation(survey, '/survey', state)).toBe(false);
    expect(await runConversation({ ...survey, allowReentry: true }, '/survey', state)).toBe(true);
    expect(state.history).toEqual(['NAME']);
  });

  it('refuses a move to a state the conversation does not define', async () => {
    const broken = { ...survey, entryPoints: [{ match: () => true, handle: () => 'NOWHERE' }] };
    await expect(runConversation(broken, '/survey', access())).rejects.toThrow(/state "NOWHERE", which it does not define/);
  });

  it('refuses an unnamed persistent conversation', () => {
    expect(() => checkConversation({ ...survey, name: '' })).toThrow(/needs a name/);
    expect(() => checkConversation({ ...survey, entryPoints: [] })).toThrow(/at least one entry point/);
  });
});
