// Writes docs/API.md, the API reference, from the doc comments of the package's entry points (the
// `exports` of package.json, mapped from dist/*.d.ts back to src/*.ts) with the TypeScript compiler
// API: each exported symbol once, under the first entry point that exports it, with its
// declaration as written and its doc comment.
//
//   node docs/generate-api.mjs           (npm run docs) rewrites docs/API.md
//   node docs/generate-api.mjs --check   exits 1 when docs/API.md differs from what it would write
import { readFileSync, writeFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = fileURLToPath(new URL('..', import.meta.url));
const output = fileURLToPath(new URL('./API.md', import.meta.url));
const packageJson = JSON.parse(readFileSync(`${root}package.json`, 'utf8'));

/** The entry points: `[subpath, import specifier, source file]`, in the order of `exports`. */
function entryPoints() {
  const entries = [];
  for (const [subpath, target] of Object.entries(packageJson.exports)) {
    const types = typeof target === 'object' ? target.types : undefined;
    if (typeof types !== 'string') continue; // ./package.json
    const source = types.replace(/^\.\/dist\//, 'src/').replace(/\.d\.ts$/, '.ts');
    entries.push([subpath, subpath === '.' ? packageJson.name : `${packageJson.name}${subpath.slice(1)}`, `${root}${source}`]);
  }
  return entries;
}

function compilerOptions() {
  const config = ts.getParsedCommandLineOfConfigFile(`${root}tsconfig.build.json`, {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => undefined });
  if (config === undefined) throw new Error('cannot read tsconfig.build.json');
  return { ...config.options, noEmit: true };
}

/** The text of a doc comment's parts, with `{@link X}` as `X` in code. */
function partsToMarkdown(parts) {
  let text = '';
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i];
    if (part.kind === 'link') {
      // {@link Name}, {@link Name text}: the parts between this and the closing link part name the target.
      let name = '';
      let label = '';
      for (i++; i < parts.length && !(parts[i].kind === 'link' && parts[i].text === '}'); i++) {
        if (parts[i].kind === 'linkName') name += parts[i].text;
        else if (parts[i].kind === 'linkText') label += parts[i].text;
      }
      text += label.trim() === '' ? `\`${name}\`` : label.trim();
    } else {
      text += part.text;
    }
  }
  return text.trim();
}

/** Markdown of a symbol's documentation: its comment, then its tags (`@example` as TypeScript code). */
function documentation(symbol, checker) {
  const lines = [];
  const comment = partsToMarkdown(symbol.getDocumentationComment(checker));
  if (comment !== '') lines.push(comment, '');
  for (const tag of symbol.getJsDocTags(checker)) {
    const text = partsToMarkdown(tag.text ?? []);
    if (tag.name === 'example') lines.push('```ts', text.replace(/^```\w*\n?|\n?```$/g, ''), '```', '');
    else lines.push(`**@${tag.name}** ${text}`, '');
  }
  return lines;
}

/**
 * The declaration as written, without its body (or, for a class, its members), its doc comment or
 * an `export` keyword.
 */
function declarationText(node) {
  const sourceFile = node.getSourceFile();
  const start = node.getStart(sourceFile, false);
  let end = node.getEnd();
  if (ts.isClassDeclaration(node)) end = node.members.pos - 1; // the opening brace
  else if (node.body !== undefined) end = node.body.getStart(sourceFile);
  let text = sourceFile.text.slice(start, end).trim().replace(/^export\s+(declare\s+)?/, '');
  if (ts.isVariableDeclaration(node)) text = `const ${text}`;
  // Keep the indentation relative to the declaration's first line.
  const column = start - sourceFile.text.lastIndexOf('\n', start - 1) - 1;
  return text
    .split('\n')
    .map((line, index) => (index === 0 ? line : line.replace(new RegExp(`^ {0,${column}}`), '')))
    .join('\n')
    .replace(/\s*=>\s*$/, '')
    .replace(/;$/, '');
}

function kindOf(declaration) {
  if (ts.isClassDeclaration(declaration)) return 'class';
  if (ts.isInterfaceDeclaration(declaration)) return 'interface';
  if (ts.isTypeAliasDeclaration(declaration)) return 'type';
  if (ts.isFunctionDeclaration(declaration)) return 'function';
  if (ts.isVariableDeclaration(declaration)) return 'const';
  if (ts.isEnumDeclaration(declaration)) return 'enum';
  return 'export';
}

function isPublicMember(member) {
  const flags = ts.getCombinedModifierFlags(member);
  if (flags & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)) return false;
  return member.name === undefined || !ts.isPrivateIdentifier(member.name);
}

/** The public members of a class: constructor, properties, accessors and methods, each with its comment. */
function classMembers(declaration, checker) {
  const lines = [];
  for (const member of declaration.members) {
    if (!isPublicMember(member) || ts.isClassStaticBlockDeclaration(member) || ts.isSemicolonClassElement(member)) continue;
    const symbol = member.name === undefined ? undefined : checker.getSymbolAtLocation(member.name);
    const docs = ts.isConstructorDeclaration(member)
      ? documentation(checker.getSignatureFromDeclaration(member), checker)
      : symbol === undefined
        ? []
        : documentation(symbol, checker);
    let text = declarationText(member).replace(/^((?:(?:abstract|override|async|static|readonly)\s+)*)\*?/, (modifiers) =>
      modifiers.replace(/\b(override|async)\s+|\*/g, ''),
    );
    if (ts.isPropertyDeclaration(member) && member.initializer !== undefined) {
      // An initialised property: its type, not its initialiser.
      const type = member.type === undefined ? checker.typeToString(checker.getTypeAtLocation(member)) : member.type.getText();
      text = `${text.slice(0, text.indexOf(member.name.getText()))}${member.name.getText()}: ${type}`;
    }
    lines.push('```ts', text, '```', '', ...docs);
  }
  return lines;
}

/** GitHub's heading anchors: lower case, punctuation dropped, and `-1`, `-2` for repeats in document order. */
function slugger() {
  const seen = new Map();
  return (heading) => {
    const slug = heading.toLowerCase().replace(/[^a-z0-9_ -]/g, '').replace(/ /g, '-');
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    return count === 0 ? slug : `${slug}-${count}`;
  };
}

/** The text of the doc comment that opens a file (`/** ... *\/` before anything else), or ''. */
function fileComment(sourceFile) {
  const match = /^\s*\/\*\*([\s\S]*?)\*\//.exec(sourceFile.text);
  if (match === null) return '';
  return match[1]
    .split('\n')
    .map((line) => line.replace(/^\s*\* ?/, ''))
    .join('\n')
    .trim();
}

/** Markdown of the reference. */
export function generate() {
  const entries = entryPoints();
  const program = ts.createProgram(
    entries.map(([, , file]) => file),
    compilerOptions(),
  );
  const checker = program.getTypeChecker();
  const documented = new Map(); // symbol -> its anchor
  const anchorOf = slugger();
  const sections = [];
  const contents = [];
  for (const [, specifier, file] of entries) {
    const sourceFile = program.getSourceFile(file);
    if (sourceFile === undefined) throw new Error(`${relative(root, file)} (an entry point of package.json exports) does not exist`);
    const moduleSymbol = checker.getSymbolAtLocation(sourceFile);
    const lines = [`## \`${specifier}\``, ''];
    const sectionAnchor = anchorOf(specifier);
    const intro = fileComment(sourceFile);
    if (intro !== '') lines.push(intro, '');
    const exported = moduleSymbol === undefined ? [] : checker.getExportsOfModule(moduleSymbol);
    const toc = [];
    const alsoHere = [];
    for (const exportSymbol of exported) {
      const symbol = exportSymbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exportSymbol) : exportSymbol;
      const name = exportSymbol.getName();
      const earlier = documented.get(symbol);
      if (earlier !== undefined) {
        alsoHere.push(`[\`${name}\`](#${earlier})`);
        continue;
      }
      const declarations = symbol.getDeclarations() ?? [];
      const declaration = declarations[0];
      if (declaration === undefined) continue;
      const anchor = anchorOf(name);
      documented.set(symbol, anchor);
      toc.push(`[\`${name}\`](#${anchor})`);
      const source = relative(root, declaration.getSourceFile().fileName);
      lines.push(`### \`${name}\``, '', `${kindOf(declaration)} · ${source}`, '');
      if (ts.isClassDeclaration(declaration)) {
        lines.push('```ts', declarationText(declaration), '```', '');
        lines.push(...documentation(symbol, checker));
        lines.push(...classMembers(declaration, checker));
      } else {
        // Overloads: every declaration's signature, one documentation.
        const signatures = declarations.filter((node) => !ts.isFunctionDeclaration(node) || node.body === undefined || declarations.length === 1);
        lines.push('```ts', ...signatures.map(declarationText), '```', '');
        lines.push(...documentation(symbol, checker));
      }
    }
    if (alsoHere.length > 0) lines.splice(intro === '' ? 2 : 4, 0, `Also exports ${alsoHere.join(', ')}, documented above.`, '');
    contents.push(`- [\`${specifier}\`](#${sectionAnchor}): ${toc.length === 0 ? 're-exports only' : toc.join(', ')}`);
    sections.push(lines.join('\n').replace(/\n{3,}/g, '\n\n').trimEnd());
  }
  return [
    '# API reference',
    '',
    '<!-- Generated by `npm run docs` (docs/generate-api.mjs) from the doc comments; edit the comments, not this file. -->',
    '',
    'Every entry point of the package (`exports` in package.json), each exported symbol once: its',
    'declaration as written and its doc comment. A symbol exported by several entry points is',
    'described under the first.',
    '',
    ...contents,
    '',
    ...sections.flatMap((section) => [section, '']),
  ].join('\n');
}

const markdown = generate();
if (process.argv.includes('--check')) {
  let current = '';
  try {
    current = readFileSync(output, 'utf8');
  } catch {
    // missing: out of date
  }
  if (current !== markdown) {
    console.error('docs/API.md is out of date with the doc comments: run `npm run docs` and commit the result');
    process.exit(1);
  }
  console.log('docs/API.md is up to date');
} else {
  writeFileSync(output, markdown);
  console.log(`wrote ${relative(root, output)}`);
}
