"""What the fixture makers (scripts/make-*-fixtures.py) share: the
repository's photos, and EXIF blocks built with piexif (GPS positions as
degrees, minutes and seconds)."""

import pathlib

import piexif

ROOT = pathlib.Path(__file__).resolve().parent.parent
SRC = ROOT / "tests" / "fixtures" / "images"


def dms(deg, minutes, seconds, per_second):
    """Degrees, minutes and seconds counted in 1/per_second as EXIF rationals."""
    return ((deg, 1), (minutes, 1), (seconds, per_second))


def gps_ifd(lat_ref, lat, lon_ref, lon, per_second):
    """A GPS IFD: `lat` and `lon` as (degrees, minutes, seconds in
    1/per_second), their references b"N"/b"S" and b"E"/b"W"."""
    return {
        piexif.GPSIFD.GPSLatitudeRef: lat_ref,
        piexif.GPSIFD.GPSLatitude: dms(*lat, per_second),
        piexif.GPSIFD.GPSLongitudeRef: lon_ref,
        piexif.GPSIFD.GPSLongitude: dms(*lon, per_second),
    }


def exif(zeroth=None, exif_ifd=None, gps=None):
    """The EXIF block of these IFDs, without a thumbnail."""
    return piexif.dump(
        {"0th": zeroth or {}, "Exif": exif_ifd or {}, "GPS": gps or {}, "1st": {}, "thumbnail": None}
    )


def list_files(folder, relative_to):
    """Prints each file of `folder` with its size."""
    for f in sorted(folder.iterdir()):
        print(f"{f.relative_to(relative_to)}: {f.stat().st_size} bytes")
