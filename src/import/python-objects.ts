/**
 * Python values as a pickle describes them, for the pickle reader (`pickle.ts`) and the mapping to
 * stored values (`python-values.ts`): nothing here is run or imported, a class or function is only
 * its name.
 */

/** A Python value as a pickle describes it. `int` is a bigint and `float` a number, so the two stay apart. */
export type PyValue =
  | null
  | boolean
  | bigint
  | number
  | string
  | Uint8Array
  | PyList
  | PyTuple
  | PyDict
  | PySet
  | PyByteArray
  | PyUndecodableStr
  | PyGlobal
  | PyPersistentId
  | PyObject;

export class PyList {
  constructor(readonly items: PyValue[] = []) {}
}

export class PyTuple {
  constructor(readonly items: readonly PyValue[]) {}
}

/** A dict as its entries, in order. */
export class PyDict {
  readonly entries: Array<[PyValue, PyValue]> = [];
}

/** A set or frozenset, its items in the order the pickle lists them. */
export class PySet {
  constructor(
    readonly frozen: boolean,
    readonly items: PyValue[] = [],
  ) {}
}

export class PyByteArray {
  constructor(readonly bytes: Uint8Array) {}
}

/** A str whose UTF-8 is invalid (Python pickles lone surrogates with `surrogatepass`). */
export class PyUndecodableStr {
  constructor(readonly bytes: Uint8Array) {}
}

/** A reference to a module-level name: a class or function (`GLOBAL`, `STACK_GLOBAL`). */
export class PyGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}

  get qualifiedName(): string {
    return `${this.module}.${this.name}`;
  }
}

/** What a pickler's `persistent_id` put in place of an object (`BINPERSID`); PTB does this for the bot. */
export class PyPersistentId {
  constructor(readonly pid: PyValue) {}
}

/**
 * The result of a call the pickle asks for (`REDUCE`, `NEWOBJ`, `NEWOBJ_EX`): the callable, its
 * arguments, and what later opcodes add to the object: `BUILD` state, `APPEND`ed items (list
 * subclasses) and `SETITEM`ed entries (dict subclasses such as `defaultdict`).
 */
export class PyObject {
  state: PyValue | undefined = undefined;
  readonly listItems: PyValue[] = [];
  readonly dictEntries: Array<[PyValue, PyValue]> = [];

  constructor(
    readonly callable: PyValue,
    readonly args: PyTuple,
    readonly kwargs: PyDict | null = null,
  ) {}

  /** The dotted name of the callable when it has one, e.g. `datetime.datetime`. */
  get callableName(): string | undefined {
    return dottedNameOf(this.callable);
  }
}

function dottedNameOf(value: PyValue): string | undefined {
  if (value instanceof PyGlobal) return value.qualifiedName;
  // getattr(cls, 'name') is how Python pickles a class's method, e.g. zoneinfo.ZoneInfo._unpickle.
  if (value instanceof PyObject && value.callableName === 'builtins.getattr') {
    const [owner, attribute] = value.args.items;
    const ownerName = owner === undefined ? undefined : dottedNameOf(owner);
    if (ownerName !== undefined && typeof attribute === 'string') return `${ownerName}.${attribute}`;
  }
  return undefined;
}

/** What a value is, in words, for messages: `a list`, `an int`, `an instance of mymodule.Foo`. */
export function describe(value: PyValue | undefined): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'None';
  switch (typeof value) {
    case 'boolean':
      return 'a bool';
    case 'bigint':
      return 'an int';
    case 'number':
      return 'a float';
    case 'string':
      return 'a str';
  }
  if (value instanceof Uint8Array) return 'bytes';
  if (value instanceof PyList) return 'a list';
  if (value instanceof PyTuple) return 'a tuple';
  if (value instanceof PyDict) return 'a dict';
  if (value instanceof PySet) return value.frozen ? 'a frozenset' : 'a set';
  if (value instanceof PyByteArray) return 'a bytearray';
  if (value instanceof PyUndecodableStr) return 'a str that is not valid UTF-8';
  if (value instanceof PyGlobal) return `a reference to ${value.qualifiedName}`;
  if (value instanceof PyPersistentId) return 'a persistent id';
  const name = value.callableName;
  return name === undefined ? 'an object built by a call' : `an instance of ${name}`;
}
