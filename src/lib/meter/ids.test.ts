import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  canId,
  FunctionCode,
  functionName,
  isCommandFunction,
  isFunctionCode,
  isMeterNode,
  isNode,
  isPolledFunction,
  isRecordFunction,
  MAX_ID,
  splitId,
} from './ids';

describe('identifiers', () => {
  it('numbers the functions as the spec table does', () => {
    expect(FunctionCode).toEqual({ RELAY: 0, TIME: 1, CONTROL: 2, ACK: 3, SNAPSHOT: 4, ENERGY: 5, STATUS: 6, AGGREGATE: 7, EVENT: 8 });
  });

  it('puts the function above the 7-bit node', () => {
    expect(canId(FunctionCode.RELAY, 0)).toBe(0);
    expect(canId(FunctionCode.TIME, 0)).toBe(0x080);
    expect(canId(FunctionCode.SNAPSHOT, 5)).toBe(0x205);
    expect(canId(FunctionCode.EVENT, 127)).toBe(0x47f);
    expect(canId(15, 127)).toBe(MAX_ID);
  });

  it('makes load commands win arbitration over time, other commands and replies', () => {
    expect(canId(FunctionCode.RELAY, 127)).toBeLessThan(canId(FunctionCode.TIME, 0));
    expect(canId(FunctionCode.CONTROL, 127)).toBeLessThan(canId(FunctionCode.ACK, 1));
  });

  it('splits every 11-bit identifier back', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 15 }), fc.integer({ min: 0, max: 127 }), (fn, node) => {
        expect(splitId(canId(fn, node))).toEqual({ fn, node });
      }),
    );
  });

  it('refuses what does not fit', () => {
    expect(() => canId(16, 1)).toThrow(RangeError);
    expect(() => canId(-1, 1)).toThrow(RangeError);
    expect(() => canId(0, 128)).toThrow(RangeError);
    expect(() => canId(0, 1.5)).toThrow(RangeError);
    expect(() => splitId(0x800)).toThrow(RangeError);
    expect(() => splitId(-1)).toThrow(RangeError);
  });

  it('tells nodes, meters and function classes apart', () => {
    expect(isNode(0)).toBe(true);
    expect(isNode(128)).toBe(false);
    expect(isMeterNode(0)).toBe(false);
    expect(isMeterNode(1)).toBe(true);
    expect(isMeterNode(127)).toBe(true);
    expect(isMeterNode(128)).toBe(false);
    expect([0, 1, 2].every(isCommandFunction)).toBe(true);
    expect([3, 4, 5, 6, 7, 8].every(isRecordFunction)).toBe(true);
    expect(isRecordFunction(9)).toBe(false);
    expect(isFunctionCode(9)).toBe(false);
    expect([4, 5, 6].every(isPolledFunction)).toBe(true);
    expect(isPolledFunction(3)).toBe(false);
    expect(functionName(6)).toBe('STATUS');
    expect(functionName(12)).toBe('reserved 12');
  });
});
