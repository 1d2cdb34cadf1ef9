/**
 * The library's errors name the options of its API (`force: true`); on the command line the same
 * advice names the flags. One table, so that a message never shows both.
 */

/** API option as the library's messages write it, and the flag that does the same. */
const FLAGS: ReadonlyArray<readonly [string, string]> = [
  ['force: true', '--force'],
  ['truncateMicroseconds: true', '--truncate-microseconds'],
  ["botMarker: 'none'", '--bot-marker none'],
  ["botMarker: 'bot'", '--bot-marker bot'],
  ['deleteSource: true', '--delete-source'],
  ['to.filepath', '--target URL'],
];

/** `message` with each API option it names replaced by its command-line flag. */
export function inFlags(message: string): string {
  return FLAGS.reduce((text, [option, flag]) => text.replaceAll(option, flag), message);
}
