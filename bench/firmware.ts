/** Size of the meter firmware: the STM32F107 image and the WebAssembly core. */
import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Figures } from './figures';

export function benchFirmware(figures: Figures): void {
  const firmware = fileURLToPath(new URL('../firmware/', import.meta.url));
  execFileSync('make', ['-s', '-C', firmware, 'arm', 'wasm'], { stdio: 'ignore' });
  const sections = execFileSync('arm-none-eabi-size', ['-A', `${firmware}build/arm/wattwall-meter.elf`], { encoding: 'utf8' });
  const size = (name: string) => Number(new RegExp(`^\\${name}\\s+(\\d+)`, 'm').exec(sections)?.[1] ?? 0);
  const flash = size('.isr_vector') + size('.text') + size('.rodata') + size('.ARM.exidx') + size('.data');
  const ram = size('.data') + size('.bss') + size('._stack_reserve');
  figures.add('firmware', 'arm_flash_bytes', flash, 'B', '< 98304 (96 KB)', 'whole firmware, STM32F107');
  figures.add('firmware', 'arm_ram_bytes', ram, 'B', '< 32768 (32 KB)', '.data + .bss + the 4 KiB reserved stack');
  figures.add('firmware', 'wasm_core_bytes', statSync(`${firmware}build/wasm/meter.wasm`).size, 'B', '', 'meter core for the simulator');
}
