#!/usr/bin/env python3
"""Writes tests/fixtures/exif/: copies of the fixture photos carrying known
EXIF (camera, capture time, GPS, orientation), which shared/src/analysis
reads back and asserts exactly.

    python3 -m venv /tmp/exif-venv
    /tmp/exif-venv/bin/pip install piexif==1.1.3 pillow==13.0.0
    /tmp/exif-venv/bin/python scripts/make-exif-fixtures.py

JPEGs keep the original photo's compressed data byte for byte (piexif only
inserts an APP1 segment); the PNG, WebP and TIFF copies are re-encoded by
Pillow with the EXIF block attached (PNG eXIf chunk, WebP EXIF chunk, TIFF
IFD tags). The outputs are committed; rerun only to change them.
"""

import io

import piexif
from PIL import Image

from fixturekit import ROOT, SRC, exif, gps_ifd, list_files

OUT = ROOT / "tests" / "fixtures" / "exif"


# The Eiffel Tower, 48°51'29.6"N 2°17'40.2"E (48.858222, 2.2945).
CANON = exif(
    zeroth={
        piexif.ImageIFD.Make: b"Canon",
        piexif.ImageIFD.Model: b"Canon EOS 5D Mark IV",
        # Modified later than taken: DateTimeOriginal must win.
        piexif.ImageIFD.DateTime: b"2023:07:20 12:00:00",
    },
    exif_ifd={piexif.ExifIFD.DateTimeOriginal: b"2023:07:14 09:30:15"},
    gps={piexif.GPSIFD.GPSVersionID: (2, 3, 0, 0), **gps_ifd(b"N", (48, 51, 296), b"E", (2, 17, 402), 10)},
)

# Rio de Janeiro, 22°54'30.0"S 43°11'47.5"W (-22.908333, -43.196528); a
# camera that writes only Model and only DateTime; shot with the camera
# turned (Orientation 6: the stored pixels must be turned 90° clockwise).
SOUTH_WEST = exif(
    zeroth={
        piexif.ImageIFD.Model: b"DMC-FZ1000",
        piexif.ImageIFD.DateTime: b"2019:02:28 23:59:59",
        piexif.ImageIFD.Orientation: 6,
    },
    gps=gps_ifd(b"S", (22, 54, 300), b"W", (43, 11, 475), 10),
)

# Strings padded the way some firmwares pad them: spaces and NULs.
PADDED = exif(
    zeroth={
        piexif.ImageIFD.Make: b"NIKON CORPORATION  \0\0",
        piexif.ImageIFD.Model: b"  NIKON D750 \0",
    },
    exif_ifd={piexif.ExifIFD.DateTimeOriginal: b"2021:12:31 18:05:00"},
)

# Only a Make; a 30th of February, a date with the wrong separators, and a
# latitude of 95°: none of them may come out as a value.
MALFORMED = exif(
    zeroth={
        piexif.ImageIFD.Make: b"Apple",
        piexif.ImageIFD.DateTime: b"2023-02-28 10:00:00",
    },
    exif_ifd={piexif.ExifIFD.DateTimeOriginal: b"2023:02:30 10:00:00"},
    gps=gps_ifd(b"N", (95, 0, 0), b"E", (10, 0, 0), 10),
)


def jpeg_with(exif_bytes, name):
    out = io.BytesIO()
    piexif.insert(exif_bytes, (SRC / "rocket.jpg").read_bytes(), out)
    (OUT / name).write_bytes(out.getvalue())


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    jpeg_with(CANON, "canon.jpg")
    jpeg_with(SOUTH_WEST, "south_west.jpg")
    jpeg_with(MALFORMED, "malformed.jpg")

    Image.open(SRC / "camera.png").save(OUT / "padded.png", exif=PADDED, optimize=True)

    rocket = Image.open(SRC / "rocket.jpg").convert("RGB")
    rocket.save(OUT / "canon.webp", exif=CANON, quality=70)
    # Uncompressed, so shrunk to stay small.
    rocket.resize((240, 160), Image.LANCZOS).save(OUT / "canon.tif", exif=CANON)

    list_files(OUT, OUT)


if __name__ == "__main__":
    main()
