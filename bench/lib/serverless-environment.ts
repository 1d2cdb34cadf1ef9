/** What serverless.yml sets on a function, for the benchmarks that run its handler as deployed. */

/**
 * The plain variables of one function's own `environment:` in serverless.yml (not the provider's, whose
 * values are CloudFormation references): the process settings the deployed function gets, which the
 * memory child gets too. A value that is not a plain scalar is refused rather than passed on wrong.
 */
export function functionEnvironment(yml: string, functionName: string): Record<string, string> {
  const lines = yml.split('\n');
  const indentOf = (line: string) => line.length - line.trimStart().length;
  const meaningful = (line: string) => line.trim() !== '' && !line.trimStart().startsWith('#');
  const start = lines.indexOf('functions:');
  const at = lines.findIndex((line, i) => i > start && start >= 0 && line === `  ${functionName}:`);
  if (at < 0) throw new Error(`serverless.yml declares no function ${functionName}`);
  const variables: Record<string, string> = {};
  let environmentIndent: number | undefined;
  for (const line of lines.slice(at + 1)) {
    if (!meaningful(line)) continue;
    const indent = indentOf(line);
    if (indent <= 2) break;
    if (environmentIndent !== undefined && indent <= environmentIndent) environmentIndent = undefined;
    if (environmentIndent === undefined) {
      if (line.trim() === 'environment:') environmentIndent = indent;
      continue;
    }
    const match = /^\s+([A-Za-z_][A-Za-z0-9_]*):\s*(?:'([^']*)'|"([^"]*)"|([^'"#{}[\]$\s][^#]*?))\s*$/.exec(line);
    if (match === null) throw new Error(`serverless.yml: a variable of ${functionName}'s environment that is not a plain value: ${line.trim()}`);
    variables[match[1]!] = match[2] ?? match[3] ?? match[4]!;
  }
  return variables;
}
