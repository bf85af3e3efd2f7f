/**
 * What a frame means in Wattwall's protocol (docs/protocol.md), for the bus monitor: the function
 * and node of its identifier, which frame of a segmented message it is, and, when the last frame of
 * a message arrives, the record or command it carries. The monitor has no keys, so a decoded
 * message says what it claims, unverified; the aggregator is where MACs are checked.
 */
import type { CanFrame } from '../frame';
import { AGGREGATOR_NODE, FunctionCode, functionName, isCommandFunction, isFunctionCode, isRecordFunction, MAX_ID, splitId } from '../../meter/ids';
import { type Command, controlOpcodeName, decodeCommand, decodeRecord, type MeterRecord } from '../../meter/records';
import { SECURITY_OVERHEAD } from '../../meter/secure';
import { Reassembler } from '../../meter/segmentation';

export interface DecodedFrame {
  /** Short, for the list: "SNAPSHOT from meter 7, frame 3/6". */
  readonly summary: string;
  /** The message this frame completed, decoded: "2000.4 W, 230.02 V, …". */
  readonly message?: string;
}

const one = (value: number, digits: number) => value.toFixed(digits);

function describeRecord(record: MeterRecord): string {
  switch (record.function) {
    case FunctionCode.SNAPSHOT: {
      const s = record.snapshot;
      return `${one(s.watts, 1)} W, ${one(s.volts, 2)} V, ${one(s.amps, 3)} A, PF ${one(s.powerFactor, 3)}, ${one(s.hertz, 3)} Hz, relay ${s.relayOn ? 'on' : 'off'}`;
    }
    case FunctionCode.ENERGY:
      return `import ${one(record.energy.importKwh, 3)} kWh, export ${one(record.energy.exportKwh, 3)} kWh, epoch ${record.energy.epoch}`;
    case FunctionCode.STATUS: {
      const s = record.status;
      return `uid ${s.uidHex}, firmware ${s.firmwareMajor}.${s.firmwareMinor}, up ${s.uptimeS} s, TEC ${s.tec}, REC ${s.rec}${s.lockout ? ', LOCKOUT' : ''}`;
    }
    case FunctionCode.ACK:
      return `ACK of ${functionName(record.ack.function)} fv ${record.ack.commandFv}: ${record.ack.resultName}`;
    case FunctionCode.AGGREGATE:
      return `10 min from ${record.aggregate.startS}: ${one(record.aggregate.wattsMean, 1)} W mean`;
    case FunctionCode.EVENT:
      return `event ${record.event.seq}: ${record.event.kindName}, ${record.event.durationMs} ms, ${one(record.event.extremeVolts, 2)} V`;
  }
}

function describeCommand(command: Command): string {
  switch (command.function) {
    case FunctionCode.RELAY:
      return `relay ${command.state === 1 ? 'on' : 'off'}`;
    case FunctionCode.TIME:
      return `time ${new Date(command.unixMs).toISOString()}`;
    case FunctionCode.CONTROL:
      return controlOpcodeName(command.opcode);
  }
}

export class ProtocolDecoder {
  #now = 0;
  readonly #reassembler = new Reassembler({ now: () => this.#now });

  /** Decodes one frame seen at `atMs` (frames must come in bus order). */
  decode(frame: CanFrame, atMs: number): DecodedFrame {
    this.#now = atMs;
    if (frame.extended) return { summary: 'extended identifier: not Wattwall traffic' };
    if (frame.id > MAX_ID) return { summary: 'not Wattwall traffic' };
    const { fn, node } = splitId(frame.id);
    const name = functionName(fn);
    if (!isFunctionCode(fn)) return { summary: `${name} (function reserved), node ${node}` };
    const party = isCommandFunction(fn) ? (node === 0 ? 'broadcast' : `to meter ${node}`) : node === AGGREGATOR_NODE ? 'from node 0' : `from meter ${node}`;
    if (frame.remote) return { summary: `${name} request to meter ${node}` };
    const header = frame.data[0];
    if (header === undefined) return { summary: `${name} ${party}, empty` };
    const index = header >> 4;
    const last = header & 0x0f;
    const summary = last === 0 ? `${name} ${party}` : `${name} ${party}, frame ${index + 1}/${last + 1}`;
    let message: string | undefined;
    for (const event of this.#reassembler.push(frame)) {
      if (event.id !== frame.id) continue;
      if (event.kind === 'message') message = this.#message(fn, event.body);
      else if (event.kind === 'malformed') message = `malformed: ${event.detail}`;
    }
    return message ? { summary, message } : { summary };
  }

  #message(fn: number, body: Uint8Array): string {
    if (body.length < SECURITY_OVERHEAD) return `${body.length} bytes: too short for FV and MAC`;
    const payload = body.subarray(0, body.length - SECURITY_OVERHEAD);
    const fv = new DataView(body.buffer, body.byteOffset, body.byteLength).getUint32(payload.length, true);
    const tail = `fv ${fv}, MAC not checked here`;
    if (isRecordFunction(fn)) {
      const result = decodeRecord(fn, payload);
      return result.ok ? `${describeRecord(result.value)} (${tail})` : `unreadable ${functionName(fn)}: ${result.detail}`;
    }
    if (isCommandFunction(fn)) {
      const result = decodeCommand(fn, payload);
      return result.ok ? `${describeCommand(result.value)} (${tail})` : `unreadable ${functionName(fn)}: ${result.detail}`;
    }
    return `${payload.length}-byte payload (${tail})`;
  }
}
