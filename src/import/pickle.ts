/**
 * A reader of Python's pickle format, protocols 2 to 5: the protocols python-telegram-bot writes
 * (`pickle.HIGHEST_PROTOCOL`, 4 or 5 on any Python 3 it supports, 2 or 3 in files from older setups).
 *
 * It never runs anything: where a pickle would import a class or call a function it builds a
 * {@link PyObject} that names the callable, and the mapping to stored values (`python-values.ts`)
 * decides what each may become. Dicts keep their entries as pairs, so no key (`__proto__`
 * included) ever becomes a property here.
 */
import { PickleDecodeError } from './errors.js';
import {
  describe,
  PyByteArray,
  PyDict,
  PyGlobal,
  PyList,
  PyObject,
  PyPersistentId,
  PySet,
  PyTuple,
  PyUndecodableStr,
  type PyValue,
} from './python-objects.js';

/** Python 2 module names that protocols 0 to 2 write for Python 3's (pickle's fix_imports). */
const PYTHON2_MODULES: Record<string, string> = { __builtin__: 'builtins', copy_reg: 'copyreg' };

/** The newest protocol this reader knows; Python 3.8 to 3.13 write at most 5. */
export const HIGHEST_PROTOCOL = 5;

// Opcodes, by byte. Those of protocols 0 and 1 that Python 3 never writes at protocol 2 or more are
// listed only to name them in the refusal.
const OPCODE_NAMES: Record<number, string> = {
  0x28: 'MARK', 0x2e: 'STOP', 0x30: 'POP', 0x31: 'POP_MARK', 0x32: 'DUP', 0x46: 'FLOAT', 0x49: 'INT',
  0x4a: 'BININT', 0x4b: 'BININT1', 0x4c: 'LONG', 0x4d: 'BININT2', 0x4e: 'NONE', 0x50: 'PERSID',
  0x51: 'BINPERSID', 0x52: 'REDUCE', 0x53: 'STRING', 0x54: 'BINSTRING', 0x55: 'SHORT_BINSTRING',
  0x56: 'UNICODE', 0x58: 'BINUNICODE', 0x61: 'APPEND', 0x62: 'BUILD', 0x63: 'GLOBAL', 0x64: 'DICT',
  0x7d: 'EMPTY_DICT', 0x65: 'APPENDS', 0x67: 'GET', 0x68: 'BINGET', 0x69: 'INST', 0x6a: 'LONG_BINGET',
  0x6c: 'LIST', 0x5d: 'EMPTY_LIST', 0x6f: 'OBJ', 0x70: 'PUT', 0x71: 'BINPUT', 0x72: 'LONG_BINPUT',
  0x73: 'SETITEM', 0x74: 'TUPLE', 0x29: 'EMPTY_TUPLE', 0x75: 'SETITEMS', 0x47: 'BINFLOAT',
  0x80: 'PROTO', 0x81: 'NEWOBJ', 0x82: 'EXT1', 0x83: 'EXT2', 0x84: 'EXT4', 0x85: 'TUPLE1', 0x86: 'TUPLE2',
  0x87: 'TUPLE3', 0x88: 'NEWTRUE', 0x89: 'NEWFALSE', 0x8a: 'LONG1', 0x8b: 'LONG4', 0x42: 'BINBYTES',
  0x43: 'SHORT_BINBYTES', 0x8c: 'SHORT_BINUNICODE', 0x8d: 'BINUNICODE8', 0x8e: 'BINBYTES8',
  0x8f: 'EMPTY_SET', 0x90: 'ADDITEMS', 0x91: 'FROZENSET', 0x92: 'NEWOBJ_EX', 0x93: 'STACK_GLOBAL',
  0x94: 'MEMOIZE', 0x95: 'FRAME', 0x96: 'BYTEARRAY8', 0x97: 'NEXT_BUFFER', 0x98: 'READONLY_BUFFER',
};

/** Why an opcode that exists is not read, by opcode. */
const REFUSED: Record<string, string> = {
  NEXT_BUFFER: 'out-of-band buffers exist only in memory, never in a file',
  READONLY_BUFFER: 'out-of-band buffers exist only in memory, never in a file',
  EXT1: 'the copyreg extension registry is not used by python-telegram-bot',
  EXT2: 'the copyreg extension registry is not used by python-telegram-bot',
  EXT4: 'the copyreg extension registry is not used by python-telegram-bot',
};

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The opcodes this reader supports, for documentation and tests. */
export const SUPPORTED_OPCODES: readonly string[] = [
  'PROTO', 'FRAME', 'STOP', 'MARK', 'POP', 'POP_MARK', 'DUP', 'NONE', 'NEWTRUE', 'NEWFALSE',
  'BININT', 'BININT1', 'BININT2', 'LONG1', 'LONG4', 'BINFLOAT', 'BINUNICODE', 'SHORT_BINUNICODE',
  'BINUNICODE8', 'BINBYTES', 'SHORT_BINBYTES', 'BINBYTES8', 'BYTEARRAY8', 'EMPTY_LIST', 'APPEND',
  'APPENDS', 'EMPTY_TUPLE', 'TUPLE', 'TUPLE1', 'TUPLE2', 'TUPLE3', 'EMPTY_DICT', 'SETITEM', 'SETITEMS',
  'EMPTY_SET', 'ADDITEMS', 'FROZENSET', 'GLOBAL', 'STACK_GLOBAL', 'REDUCE', 'NEWOBJ', 'NEWOBJ_EX',
  'BUILD', 'BINPERSID', 'BINPUT', 'LONG_BINPUT', 'MEMOIZE', 'BINGET', 'LONG_BINGET',
];

/**
 * Reads one pickle from `bytes` and returns the value it describes; bytes after its STOP are
 * ignored, as Python's `pickle.load` does. Throws {@link PickleDecodeError} (with the byte offset)
 * when the bytes are not a pickle this reader supports.
 */
export function readPickle(bytes: Uint8Array, file?: string): PyValue {
  return readPickleContents(bytes, file).value;
}

/** A pickle's value, and whether any of it was written by a `NONE` opcode. */
export interface PickleContents {
  value: PyValue;
  /**
   * False when no `None` was pickled as itself: a pickler whose `persistent_id` claims `None` (as
   * python-telegram-bot's does when no bot was set) writes it as a persistent id instead.
   */
  writesNone: boolean;
}

/** {@link readPickle}, telling also whether the pickle holds a `NONE` opcode. */
export function readPickleContents(bytes: Uint8Array, file?: string): PickleContents {
  const machine = new PickleMachine(bytes, file);
  const value = machine.run();
  return { value, writesNone: machine.writesNone };
}

class PickleMachine {
  private readonly view: DataView;
  private position = 0;
  /** Where the opcode being run starts, for messages. */
  private opcodeAt = 0;
  private opcode = '';
  private stack: PyValue[] = [];
  private readonly marks: PyValue[][] = [];
  private readonly memo = new Map<number, PyValue>();
  private protocol = 0;
  writesNone = false;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly file: string | undefined,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  run(): PyValue {
    if (this.bytes.length === 0) throw this.fail('the file is empty');
    if (this.bytes[0] !== 0x80) {
      throw this.fail('it does not start with a PROTO opcode: not a pickle of protocol 2 or later (python-telegram-bot writes 4 or 5)');
    }
    while (this.position < this.bytes.length) {
      this.opcodeAt = this.position;
      const code = this.byte();
      this.opcode = OPCODE_NAMES[code] ?? `0x${code.toString(16).padStart(2, '0')}`;
      if (code === 0x2e) return this.finish();
      this.step(code);
    }
    this.opcodeAt = this.position;
    throw this.fail('it ends without a STOP opcode: the file is truncated');
  }

  private finish(): PyValue {
    if (this.marks.length > 0) throw this.fail('STOP inside an unclosed MARK');
    if (this.stack.length !== 1) throw this.fail(`STOP with ${this.stack.length} values on the stack instead of 1`);
    return this.stack[0]!;
  }

  private step(code: number): void {
    switch (code) {
      case 0x80: { // PROTO
        const protocol = this.byte();
        if (protocol > HIGHEST_PROTOCOL) {
          throw this.fail(`pickle protocol ${protocol} is newer than ${HIGHEST_PROTOCOL}, the newest this reader knows`);
        }
        if (protocol < 2) throw this.fail(`pickle protocol ${protocol}: this reader reads protocols 2 to 5`);
        this.protocol = protocol;
        return;
      }
      case 0x95: // FRAME: a length prefix for buffered reading; the opcodes follow as usual.
        this.take(8);
        return;
      case 0x28: // MARK
        this.marks.push(this.stack);
        this.stack = [];
        return;
      case 0x30: // POP
        if (this.stack.length === 0 && this.marks.length > 0) this.popMark();
        else this.pop();
        return;
      case 0x31: // POP_MARK
        this.popMark();
        return;
      case 0x32: // DUP
        this.push(this.top());
        return;
      case 0x4e: // NONE
        this.writesNone = true;
        return this.push(null);
      case 0x88: return this.push(true); // NEWTRUE
      case 0x89: return this.push(false); // NEWFALSE
      case 0x4a: return this.push(BigInt(this.view.getInt32(this.advance(4), true))); // BININT
      case 0x4b: return this.push(BigInt(this.byte())); // BININT1
      case 0x4d: return this.push(BigInt(this.view.getUint16(this.advance(2), true))); // BININT2
      case 0x8a: return this.push(littleEndianSigned(this.take(this.byte()))); // LONG1
      case 0x8b: return this.push(littleEndianSigned(this.take(this.length(this.view.getInt32(this.advance(4), true))))); // LONG4
      case 0x47: return this.push(this.view.getFloat64(this.advance(8), false)); // BINFLOAT (big-endian)
      case 0x8c: return this.push(this.text(this.byte())); // SHORT_BINUNICODE
      case 0x58: return this.push(this.text(this.view.getUint32(this.advance(4), true))); // BINUNICODE
      case 0x8d: return this.push(this.text(this.uint64())); // BINUNICODE8
      case 0x43: return this.push(this.take(this.byte()).slice()); // SHORT_BINBYTES
      case 0x42: return this.push(this.take(this.view.getUint32(this.advance(4), true)).slice()); // BINBYTES
      case 0x8e: return this.push(this.take(this.uint64()).slice()); // BINBYTES8
      case 0x96: return this.push(new PyByteArray(this.take(this.uint64()).slice())); // BYTEARRAY8
      case 0x5d: return this.push(new PyList()); // EMPTY_LIST
      case 0x61: { // APPEND
        const item = this.pop();
        this.appendTo(this.top(), [item]);
        return;
      }
      case 0x65: { // APPENDS
        const items = this.popMark();
        this.appendTo(this.top(), items);
        return;
      }
      case 0x29: return this.push(new PyTuple([])); // EMPTY_TUPLE
      case 0x74: return this.push(new PyTuple(this.popMark())); // TUPLE
      case 0x85: return this.push(new PyTuple(this.popN(1))); // TUPLE1
      case 0x86: return this.push(new PyTuple(this.popN(2))); // TUPLE2
      case 0x87: return this.push(new PyTuple(this.popN(3))); // TUPLE3
      case 0x7d: return this.push(new PyDict()); // EMPTY_DICT
      case 0x73: { // SETITEM
        const [key, value] = this.popN(2) as [PyValue, PyValue];
        this.setItemsOf(this.top(), [key, value]);
        return;
      }
      case 0x75: { // SETITEMS
        const items = this.popMark();
        if (items.length % 2 !== 0) throw this.fail('SETITEMS with an odd number of keys and values');
        this.setItemsOf(this.top(), items);
        return;
      }
      case 0x8f: return this.push(new PySet(false)); // EMPTY_SET
      case 0x90: { // ADDITEMS
        const items = this.popMark();
        const set = this.top();
        if (!(set instanceof PySet) || set.frozen) throw this.fail(`ADDITEMS onto ${describe(set)}`);
        set.items.push(...items);
        return;
      }
      case 0x91: return this.push(new PySet(true, this.popMark())); // FROZENSET
      case 0x63: { // GLOBAL: "module\nname\n"
        const module = this.line();
        this.push(this.global(module, this.line()));
        return;
      }
      case 0x93: { // STACK_GLOBAL
        const [module, name] = this.popN(2);
        if (typeof module !== 'string' || typeof name !== 'string') throw this.fail('STACK_GLOBAL needs two strs');
        this.push(this.global(module, name));
        return;
      }
      case 0x52: { // REDUCE
        const [callable, args] = this.popN(2);
        if (!(args instanceof PyTuple)) throw this.fail(`REDUCE with arguments that are ${describe(args)}, not a tuple`);
        this.push(new PyObject(callable!, args));
        return;
      }
      case 0x81: { // NEWOBJ
        const [cls, args] = this.popN(2);
        if (!(args instanceof PyTuple)) throw this.fail(`NEWOBJ with arguments that are ${describe(args)}, not a tuple`);
        this.push(new PyObject(cls!, args));
        return;
      }
      case 0x92: { // NEWOBJ_EX
        const [cls, args, kwargs] = this.popN(3);
        if (!(args instanceof PyTuple) || !(kwargs instanceof PyDict)) throw this.fail('NEWOBJ_EX needs a tuple and a dict');
        this.push(new PyObject(cls!, args, kwargs));
        return;
      }
      case 0x62: { // BUILD
        const state = this.pop();
        const target = this.top();
        if (!(target instanceof PyObject)) throw this.fail(`BUILD onto ${describe(target)}`);
        target.state = state;
        return;
      }
      case 0x51: return this.push(new PyPersistentId(this.pop())); // BINPERSID
      case 0x71: return this.put(this.byte()); // BINPUT
      case 0x72: return this.put(this.view.getUint32(this.advance(4), true)); // LONG_BINPUT
      case 0x94: return this.put(this.memo.size); // MEMOIZE
      case 0x68: return this.get(this.byte()); // BINGET
      case 0x6a: return this.get(this.view.getUint32(this.advance(4), true)); // LONG_BINGET
      default: {
        const refused = REFUSED[this.opcode];
        if (refused !== undefined) throw this.fail(`opcode ${this.opcode} is not supported: ${refused}`);
        if (OPCODE_NAMES[code] !== undefined) {
          throw this.fail(`opcode ${this.opcode} belongs to pickle protocols 0 and 1, which this reader does not read`);
        }
        throw this.fail(`unknown opcode ${this.opcode}: not a pickle, or a corrupt one`);
      }
    }
  }

  private global(module: string, name: string): PyGlobal {
    return new PyGlobal(this.protocol < 3 ? (PYTHON2_MODULES[module] ?? module) : module, name);
  }

  private appendTo(target: PyValue, items: PyValue[]): void {
    if (target instanceof PyList) target.items.push(...items);
    else if (target instanceof PyObject) target.listItems.push(...items);
    else throw this.fail(`${this.opcode} onto ${describe(target)}`);
  }

  private setItemsOf(target: PyValue, items: PyValue[]): void {
    const entries = target instanceof PyDict ? target.entries : target instanceof PyObject ? target.dictEntries : undefined;
    if (entries === undefined) throw this.fail(`${this.opcode} onto ${describe(target)}`);
    for (let i = 0; i < items.length; i += 2) entries.push([items[i]!, items[i + 1]!]);
  }

  private put(index: number): void {
    this.memo.set(index, this.top());
  }

  private get(index: number): void {
    const value = this.memo.get(index);
    if (value === undefined) throw this.fail(`memo entry ${index} was never stored`);
    this.push(value);
  }

  private push(value: PyValue): void {
    this.stack.push(value);
  }

  private top(): PyValue {
    if (this.stack.length === 0) throw this.fail(`${this.opcode} on an empty stack`);
    return this.stack[this.stack.length - 1]!;
  }

  private pop(): PyValue {
    if (this.stack.length === 0) throw this.fail(`${this.opcode} on an empty stack`);
    return this.stack.pop()!;
  }

  private popN(count: number): PyValue[] {
    if (this.stack.length < count) throw this.fail(`${this.opcode} needs ${count} values on the stack, found ${this.stack.length}`);
    return this.stack.splice(this.stack.length - count, count);
  }

  /** The values pushed since the last MARK, which is removed. */
  private popMark(): PyValue[] {
    const outer = this.marks.pop();
    if (outer === undefined) throw this.fail(`${this.opcode} without a MARK`);
    const items = this.stack;
    this.stack = outer;
    return items;
  }

  private byte(): number {
    return this.bytes[this.advance(1)]!;
  }

  /** Moves past `count` bytes and returns where they start. */
  private advance(count: number): number {
    const start = this.position;
    if (start + count > this.bytes.length) {
      throw this.fail(`the file ends inside ${this.opcode}: truncated`);
    }
    this.position = start + count;
    return start;
  }

  private take(count: number): Uint8Array {
    const start = this.advance(count);
    return this.bytes.subarray(start, start + count);
  }

  private length(value: number): number {
    if (value < 0) throw this.fail(`${this.opcode} with a negative length`);
    return value;
  }

  private uint64(): number {
    const value = this.view.getBigUint64(this.advance(8), true);
    // Anything past the end of the file fails in advance(); this keeps the number exact until then.
    return value > BigInt(this.bytes.length) ? this.bytes.length + 1 : Number(value);
  }

  private text(length: number): string | PyUndecodableStr {
    const bytes = this.take(length);
    try {
      return utf8.decode(bytes);
    } catch {
      return new PyUndecodableStr(bytes.slice());
    }
  }

  /** A newline-terminated ASCII line (GLOBAL's operands). */
  private line(): string {
    const end = this.bytes.indexOf(0x0a, this.position);
    if (end === -1) throw this.fail(`the file ends inside ${this.opcode}: truncated`);
    const line = this.bytes.subarray(this.position, end);
    this.position = end + 1;
    if (line.some((byte) => byte >= 0x80)) throw this.fail(`${this.opcode} with a name that is not ASCII`);
    return String.fromCharCode(...line);
  }

  private fail(reason: string): PickleDecodeError {
    return new PickleDecodeError(reason, { file: this.file, offset: this.opcodeAt });
  }
}

/** An int stored as little-endian two's complement bytes (LONG1, LONG4). */
function littleEndianSigned(bytes: Uint8Array): bigint {
  if (bytes.length === 0) return 0n;
  let hex = '';
  for (let i = bytes.length - 1; i >= 0; i--) hex += bytes[i]!.toString(16).padStart(2, '0');
  const unsigned = BigInt(`0x${hex}`);
  return bytes[bytes.length - 1]! >= 0x80 ? unsigned - (1n << BigInt(8 * bytes.length)) : unsigned;
}
