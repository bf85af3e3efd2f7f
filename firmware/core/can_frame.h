/*
 * can_frame.h - portable classic-CAN frame type shared by the meter core,
 * the STM32 board layer and the WebAssembly simulator ABI.
 *
 * The in-memory layout is part of the wasm ABI: the TypeScript side reads and
 * writes frames directly in wasm linear memory (little-endian), so the offsets
 * below are frozen by _Static_assert:
 *
 *   offset  size  field
 *        0     4  id        11-bit (standard) or 29-bit (extended) identifier
 *        4     1  dlc       data length code 0..8
 *        5     1  flags     bit0 CAN_FLAG_EXT (extended id), bit1 CAN_FLAG_RTR
 *        6     8  data      payload bytes; only data[0..dlc-1] are meaningful
 *       14     2  reserved  always written as 0
 *   size 16, alignment 4
 */
#ifndef WW_CAN_FRAME_H
#define WW_CAN_FRAME_H

#include <stddef.h>
#include <stdint.h>

#define CAN_FLAG_EXT 0x01u /* 29-bit identifier */
#define CAN_FLAG_RTR 0x02u /* remote transmission request (remote frame) */

#define CAN_STD_ID_MASK 0x7FFu
#define CAN_EXT_ID_MASK 0x1FFFFFFFu
#define CAN_MAX_DLC 8u

typedef struct {
    uint32_t id;
    uint8_t dlc;
    uint8_t flags;
    uint8_t data[8];
    uint8_t reserved[2];
} can_frame_t;

_Static_assert(sizeof(can_frame_t) == 16, "can_frame_t must be 16 bytes (wasm ABI)");
_Static_assert(offsetof(can_frame_t, id) == 0, "can_frame_t.id offset");
_Static_assert(offsetof(can_frame_t, dlc) == 4, "can_frame_t.dlc offset");
_Static_assert(offsetof(can_frame_t, flags) == 5, "can_frame_t.flags offset");
_Static_assert(offsetof(can_frame_t, data) == 6, "can_frame_t.data offset");
_Static_assert(offsetof(can_frame_t, reserved) == 14, "can_frame_t.reserved offset");

#endif /* WW_CAN_FRAME_H */
