import { describe, expect, it } from 'vitest';
import { bytesOf } from '../can/usb/webusb';
import { endpoint, type UsbFunction, UsbDeviceEmulator, usbInterface } from './emulated-usb-device';

function device(packetSize = 8) {
  const fn: UsbFunction = {
    configuration: { configurationValue: 1, interfaces: [usbInterface(0, { interfaceClass: 0xff, interfaceSubclass: 0, interfaceProtocol: 0 }, [endpoint(1, 'in', 'bulk', packetSize), endpoint(2, 'out', 'bulk', packetSize)])] },
    control: () => ({ status: 'stall' }),
    bulkOut: () => 'ok',
    interfaceClaimed: () => undefined,
    powerLost: () => undefined,
    attached: () => undefined,
  };
  const physical = new UsbDeviceEmulator({ vendorId: 1, productId: 2, serialNumber: 'S' }, fn);
  return physical;
}

async function opened(physical: UsbDeviceEmulator) {
  const handle = physical.handle;
  if (!handle) throw new Error('unplugged');
  await handle.open();
  await handle.selectConfiguration(1);
  await handle.claimInterface(0);
  return handle;
}

const bytes = (...values: number[]) => Uint8Array.from(values);

describe('EmulatedUsbDevice', () => {
  it('a host transfer takes whole packets until a short one or its buffer is full', async () => {
    const handle = await opened(device(4));
    void handle.submitIn(1, bytes(1, 2, 3, 4, 5, 6), false);
    void handle.submitIn(1, bytes(7, 8, 9, 10), true);
    expect(Array.from(bytesOf(await handle.transferIn(1, 64)))).toEqual([1, 2, 3, 4, 5, 6]);
    // 4 bytes fill a packet exactly: the zero-length packet ends the transfer.
    expect(Array.from(bytesOf(await handle.transferIn(1, 64)))).toEqual([7, 8, 9, 10]);
    void handle.submitIn(1, bytes(1, 2, 3, 4, 5, 6, 7, 8, 9), false);
    expect(Array.from(bytesOf(await handle.transferIn(1, 8)))).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(Array.from(bytesOf(await handle.transferIn(1, 8)))).toEqual([9]);
  });

  it('a packet larger than what the host asked for is babble', async () => {
    const handle = await opened(device(8));
    void handle.submitIn(1, bytes(1, 2, 3, 4, 5, 6), false);
    expect((await handle.transferIn(1, 4)).status).toBe('babble');
  });

  it('keeps order when the device submits the next transfer as the last one is taken, with many host transfers waiting', async () => {
    const physical = device(8);
    const handle = await opened(physical);
    const reads = Array.from({ length: 20 }, () => handle.transferIn(1, 8));
    let next = 0;
    const submitNext = (): void => {
      const n = next++;
      if (n < 20) void handle.submitIn(1, bytes(n, n), false, submitNext);
    };
    submitNext();
    const got = (await Promise.all(reads)).map((r) => Array.from(bytesOf(r)));
    expect(got).toEqual(Array.from({ length: 20 }, (_, n) => [n, n]));
  });

  it('an unplug fails pending transfers; the old handle stays dead after a replug', async () => {
    const physical = device();
    const handle = await opened(physical);
    const pending = handle.transferIn(1, 8);
    physical.unplug();
    await expect(pending).rejects.toThrow('The device was disconnected.');
    physical.replug();
    await expect(handle.open()).rejects.toThrow('The device was disconnected.');
    const fresh = await opened(physical);
    void fresh.submitIn(1, bytes(5), false);
    expect(Array.from(bytesOf(await fresh.transferIn(1, 8)))).toEqual([5]);
  });

  it('releasing the interface cancels its pending transfers', async () => {
    const handle = await opened(device());
    const pending = handle.transferIn(1, 8);
    await handle.releaseInterface(0);
    await expect(pending).rejects.toThrow('The transfer was cancelled.');
  });
});
