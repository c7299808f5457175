#!/usr/bin/env python3
"""Writes a GPT with one Linux partition (1 MiB to 1 MiB before the end) onto an image file, as
sfdisk would: protective MBR, primary header and entries, and their backup at the disk's end.
Test fixture for the od.disk.format guard. Usage: mkgpt.py IMAGE"""
import struct
import sys
import uuid
import zlib

SECTOR = 512


def header(my, alt, entries_lba, last, disk_guid, entries_crc):
    h = struct.pack('<8sIIIIQQQQ16sQIII', b'EFI PART', 0x00010000, 92, 0, 0, my, alt, 34, last - 34,
                    disk_guid, entries_lba, 128, 128, entries_crc)
    crc = zlib.crc32(h) & 0xffffffff
    h = h[:16] + struct.pack('<I', crc) + h[20:]
    return h + b'\0' * (SECTOR - len(h))


def main(path):
    with open(path, 'r+b') as f:
        f.seek(0, 2)
        last = f.tell() // SECTOR - 1
        linux = uuid.UUID('0fc63daf-8483-4772-8e79-3d69d8477de4').bytes_le
        entry = struct.pack('<16s16sQQQ72s', linux, uuid.uuid4().bytes_le, 2048, last - 2048, 0,
                            'data'.encode('utf-16-le'))
        entries = entry + b'\0' * (128 * 128 - len(entry))
        crc = zlib.crc32(entries) & 0xffffffff
        disk = uuid.uuid4().bytes_le
        mbr = bytearray(SECTOR)
        mbr[446:462] = struct.pack('<BBBBBBBBII', 0, 0, 2, 0, 0xee, 0xff, 0xff, 0xff, 1, min(last, 0xffffffff))
        mbr[510:512] = b'\x55\xaa'
        f.seek(0)
        f.write(bytes(mbr) + header(1, last, 2, last, disk, crc) + entries)
        f.seek((last - 32) * SECTOR)
        f.write(entries + header(last, 1, last - 32, last, disk, crc))


if __name__ == '__main__':
    main(sys.argv[1])
