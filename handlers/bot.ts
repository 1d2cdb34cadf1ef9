/**
 * The sample bot: every kind of persisted state, one command each.
 *
 * /start   greets and lists the commands
 * /count   per-user counter (user data), replies with the new number
 * /note    per-chat note (chat data): `/note text` saves it, `/note` shows it
 * /stats   global count (bot data)
 * /survey  a persistent conversation: name, then age, then a summary
 * /menu    inline buttons carrying arbitrary callback data
 */
import { Bot, Context } from 'grammy';
import type { UserFromGetMe } from 'grammy/types';
import { END, mergeCallbackData, type BasePersistence, type MergeFunction, type RuntimeOptions } from 'telegram-s3-persistence';
import { persistence, type PersistenceFlavor } from 'telegram-s3-persistence/grammy';

export interface UserData {
  count?: number;
  survey?: { name?: string; age?: number };
}
export interface ChatData {
  note?: string;
}
export interface BotData {
  totalCount?: number;
}
export type BotContext = Context & PersistenceFlavor<UserData, ChatData, BotData>;

export interface SampleBotOptions {
  token: string;
  /** getMe's answer; without it, grammY (or the webhook) asks getMe. */
  botInfo?: UserFromGetMe | undefined;
  store: BasePersistence<UserData, ChatData, BotData>;
  apiRoot?: string;
  /** What grammY sends Bot API requests with; default the platform's `fetch`. */
  fetch?: typeof fetch;
  /** Claim each update for this many seconds before it runs (one reply per update); `false`: no claims. */
  claimLeaseSeconds?: number | false;
  /** The runtime's log: its logger (default JSON lines on stdout), EMF metrics, the large-snapshot warning. */
  log?: Pick<RuntimeOptions<UserData, ChatData, BotData>, 'logger' | 'metrics' | 'largeSnapshot'>;
}

/**
 * The sample bot's `merge` for its persistence. Two instances that both counted a /count met on
 * `bot_data.totalCount`, and "the later write wins" would drop one press: counters add both
 * increments instead. Callback data is merged per keyboard, as without a merge function. Any other
 * same-entry conflict keeps the later write.
 */
export const mergeConcurrentChanges: MergeFunction = ({ section, entry, base, ours, theirs }) => {
  if (entry === 'bot_data.totalCount') return Number(theirs ?? 0) + Number(ours ?? 0) - Number(base ?? 0);
  // Two instances sending /menu at once each stored a keyboard: keep both.
  if (section === 'callback_data') return mergeCallbackData(base, ours, theirs);
  return ours;
};

const MENU = [
  { text: '🍎 Apple', callbackData: { fruit: 'apple', colour: 'red', calories: 52 } },
  { text: '🍌 Banana', callbackData: { fruit: 'banana', colour: 'yellow', calories: 89 } },
  { text: '🥝 Kiwi', callbackData: { fruit: 'kiwi', colour: 'green', calories: 61, tags: ['fuzzy', 'tart'] } },
];

const text = Context.has.filterQuery('message:text');
const notCommand = (ctx: Context) => text(ctx) && !ctx.message.text.startsWith('/');

export function createBot(options: SampleBotOptions): Bot<BotContext> {
  const bot = new Bot<BotContext>(options.token, {
    botInfo: options.botInfo,
    client: {
      ...(options.apiRoot === undefined ? {} : { apiRoot: options.apiRoot }),
      ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
    },
  });
  const { claimLeaseSeconds = false } = options;
  const store = persistence<UserData, ChatData, BotData, BotContext>(options.store, {
    ...options.log,
    claimUpdates: claimLeaseSeconds === false ? false : { leaseSeconds: claimLeaseSeconds },
  });
  bot.use(store);

  bot.use(
    store.conversation({
      name: 'survey',
      allowReentry: true,
      entryPoints: [
        {
          match: Context.has.command('survey'),
          handle: async (ctx) => {
            ctx.userData.survey = {};
            await ctx.reply('Survey: what is your name? (/cancel to stop)');
            return 'NAME';
          },
        },
      ],
      states: {
        NAME: [
          {
            match: notCommand,
            handle: async (ctx) => {
              ctx.userData.survey = { name: ctx.message!.text!.trim() };
              await ctx.reply(`Nice to meet you, ${ctx.userData.survey.name}. How old are you?`);
              return 'AGE';
            },
          },
        ],
        AGE: [
          {
            match: notCommand,
            handle: async (ctx) => {
              const age = Number(ctx.message!.text!.trim());
              if (!Number.isInteger(age) || age < 0 || age > 150) {
                await ctx.reply('Please send your age as a whole number.');
                return undefined;
              }
              const name = ctx.userData.survey?.name ?? 'stranger';
              ctx.userData.survey = { name, age };
              await ctx.reply(`Survey complete: ${name}, ${age} years old.`);
              return END;
            },
          },
        ],
      },
      fallbacks: [
        {
          match: Context.has.command('cancel'),
          handle: async (ctx) => {
            await ctx.reply('Survey cancelled.');
            return END;
          },
        },
      ],
    }),
  );

  bot.command('start', (ctx) =>
    ctx.reply(
      'Hello! My state lives in S3 and survives cold starts.\n' +
        '/count – your personal counter\n/note [text] – this chat’s note\n/stats – everyone’s total\n' +
        '/survey – a two-step conversation\n/menu – buttons carrying data',
    ),
  );

  bot.command('count', async (ctx) => {
    ctx.userData.count = (ctx.userData.count ?? 0) + 1;
    ctx.botData.totalCount = (ctx.botData.totalCount ?? 0) + 1;
    await ctx.reply(String(ctx.userData.count));
  });

  bot.command('note', async (ctx) => {
    const note = ctx.match.trim();
    if (note !== '') {
      ctx.chatData.note = note;
      await ctx.reply(`Saved the note: ${note}`);
    } else {
      await ctx.reply(ctx.chatData.note === undefined ? 'No note yet: /note your text' : `Note: ${ctx.chatData.note}`);
    }
  });

  bot.command('stats', (ctx) => ctx.reply(`Total /count presses by everyone: ${ctx.botData.totalCount ?? 0}`));

  bot.command('menu', (ctx) =>
    ctx.reply('Pick a fruit:', { reply_markup: ctx.inlineKeyboard(MENU.map((button) => [button])) }),
  );

  bot.on('callback_query:data', async (ctx) => {
    const outcome = ctx.callbackData;
    if (outcome === undefined || !outcome.ok) {
      await ctx.answerCallbackQuery({ text: 'This button has expired: send /menu again.', show_alert: true });
      return;
    }
    await ctx.answerCallbackQuery();
    await ctx.editMessageText(`The button carried:\n${JSON.stringify(outcome.value, null, 2)}`);
  });

  return bot;
}
