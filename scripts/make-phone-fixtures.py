#!/usr/bin/env python3
"""Writes tests/fixtures/phone/: the files phones make, encoded from the
repository's real photos (tests/fixtures/images) with the metadata phones
write, which the tests read back and assert exactly.

    python3 -m venv /tmp/phone-venv
    /tmp/phone-venv/bin/pip install piexif==1.1.3 pillow==13.0.0 pillow-heif==1.8.1
    /tmp/phone-venv/bin/python scripts/make-phone-fixtures.py

pillow-heif (libheif with x265) encodes the HEICs, Pillow's own AVIF
support (libavif) the AVIF. Each photo is stored turned a quarter
(EXIF orientation 6 and, in HEIF, the `irot` that libheif writes from it),
as a phone held upright stores it: decoded the right way, it is the
original photo again. The outputs are committed (a few tens of KB each);
rerun only to change them. The 12- and 50-megapixel JPEGs are too big for
git: the tests and the benchmark make them at run time.
"""

import io
import struct

import piexif
import pillow_heif
from PIL import Image, ImageCms

import fixturekit
from fixturekit import ROOT, SRC, gps_ifd, list_files

OUT = ROOT / "tests" / "fixtures" / "phone"


def exif(make, model, taken, gps=None, orientation=6):
    return fixturekit.exif(
        zeroth={
            piexif.ImageIFD.Make: make,
            piexif.ImageIFD.Model: model,
            piexif.ImageIFD.Orientation: orientation,
            piexif.ImageIFD.DateTime: taken,
        },
        exif_ifd={piexif.ExifIFD.DateTimeOriginal: taken},
        gps=gps,
    )


def stored_sideways(name):
    """The photo as a sensor held upright stores it: turned a quarter
    anticlockwise, so that orientation 6 (a quarter clockwise) rights it."""
    return Image.open(SRC / name).convert("RGB").transpose(Image.Transpose.ROTATE_90)


# Golden Gate Bridge, 37°49'10.20"N 122°28'44.40"W (37.8195, -122.479).
IPHONE = exif(b"Apple", b"iPhone 15 Pro", b"2024:06:01 18:42:07",
              gps_ifd(b"N", (37, 49, 1020), b"W", (122, 28, 4440), 100))
# Sydney Opera House, 33°51'25.20"S 151°12'54.00"E (-33.857, 151.215).
PIXEL = exif(b"Google", b"Pixel 8", b"2024:03:09 07:15:30",
             gps_ifd(b"S", (33, 51, 2520), b"E", (151, 12, 5400), 100))
LIVE = exif(b"Apple", b"iPhone 13 mini", b"2023:12:24 16:05:00", orientation=1)
MOTION = exif(b"Google", b"Pixel 7a", b"2023:08:15 12:00:00", orientation=1)

# What a Live Photo's still carries: the content identifier that pairs it with its video.
LIVE_XMP = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
    b'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    b'<rdf:Description xmlns:apple-fi="http://ns.apple.com/faceinfo/1.0/" '
    b'xmlns:xmpMM="http://ns.adobe.com/xap/1.0/mm/" '
    b'xmpMM:ContentIdentifier="6A3F6C1E-6D52-4E1A-9D0B-3C1A0B7E2F11"/>'
    b"</rdf:RDF></x:xmpmeta>"
)


def motion_photo():
    """A Google Motion Photo: a JPEG whose XMP says where the MP4 appended
    after its end of image starts. The video is a minimal ISO BMFF file
    (ftyp, an empty moov, mdat): the service keeps it, never plays it."""
    ftyp = struct.pack(">I4s4sI4s4s", 24, b"ftyp", b"mp42", 0, b"isom", b"mp42")
    moov = struct.pack(">I4s", 8, b"moov")
    payload = bytes(range(256)) * 16
    mdat = struct.pack(">I4s", 8 + len(payload), b"mdat") + payload
    video = ftyp + moov + mdat
    still = io.BytesIO()
    Image.open(SRC / "coffee.png").convert("RGB").save(
        still, format="JPEG", quality=85, exif=MOTION
    )
    xmp = (
        b"http://ns.adobe.com/xap/1.0/\x00"
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        b'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        b'<rdf:Description xmlns:GCamera="http://ns.google.com/photos/1.0/camera/" '
        b'GCamera:MotionPhoto="1" GCamera:MotionPhotoVersion="1" '
        b'GCamera:MotionPhotoPresentationTimestampUs="0" '
        + b'GCamera:MicroVideoOffset="%d"/>' % len(video)
        + b"</rdf:RDF></x:xmpmeta>"
    )
    jpeg = still.getvalue()
    app1 = b"\xff\xe1" + struct.pack(">H", len(xmp) + 2) + xmp
    return jpeg[:2] + app1 + jpeg[2:] + video


def display_p3():
    """The astronaut converted to Display P3 and tagged with that profile,
    as phones save wide-gamut photos: shown through the profile it is the
    sRGB original again; read as if it were sRGB its colours are dull."""
    srgb = ImageCms.createProfile("sRGB")
    p3 = build_display_p3()
    photo = Image.open(SRC / "astronaut.png").convert("RGB")
    converted = ImageCms.profileToProfile(
        photo, ImageCms.ImageCmsProfile(srgb), p3, outputMode="RGB"
    )
    out = io.BytesIO()
    converted.save(out, format="JPEG", quality=92, icc_profile=p3.tobytes())
    return out.getvalue()


def s15f16(x):
    return struct.pack(">i", round(x * 65536))


def build_display_p3():
    """A matrix/TRC ICC v2 profile of Display P3 (D65 adapted to the PCS's D50
    by Bradford, as Apple's profile is), with the sRGB tone curve as a
    parametric curve."""
    # Columns of the P3-D65 -> XYZ(D50) matrix (Apple's "Display P3" rXYZ/gXYZ/bXYZ).
    r, g, b = (0.515121, 0.241196, -0.001053), (0.291977, 0.692245, 0.041885), (0.157104, 0.066574, 0.784073)
    wtpt = (0.964203, 1.0, 0.824905)

    def xyz(v):
        return b"XYZ \x00\x00\x00\x00" + b"".join(s15f16(c) for c in v)

    # parametricCurveType function 3: the sRGB curve.
    curve = b"para\x00\x00\x00\x00" + struct.pack(">HH", 3, 0) + b"".join(
        s15f16(c) for c in (2.4, 1 / 1.055, 0.055 / 1.055, 1 / 12.92, 0.04045)
    )
    desc_text = b"Display P3\x00"
    desc = (
        b"desc\x00\x00\x00\x00"
        + struct.pack(">I", len(desc_text))
        + desc_text
        + b"\x00" * 8
        + b"\x00" * 3
        + b"\x00" * 67
    )
    tags = [
        (b"desc", desc),
        (b"wtpt", xyz(wtpt)),
        (b"rXYZ", xyz(r)),
        (b"gXYZ", xyz(g)),
        (b"bXYZ", xyz(b)),
        (b"rTRC", curve),
        (b"gTRC", curve),
        (b"bTRC", curve),
        (b"cprt", b"text\x00\x00\x00\x00Public domain\x00"),
    ]
    offset = 128 + 4 + 12 * len(tags)
    table, data = b"", b""
    for sig, body in tags:
        while (offset + len(data)) % 4:
            data += b"\x00"
        table += sig + struct.pack(">II", offset + len(data), len(body))
        data += body
    body = struct.pack(">I", len(tags)) + table + data
    size = 128 + len(body)
    header = (
        struct.pack(">I", size)
        + b"none"
        + bytes([2, 0x40, 0, 0])
        + b"mntrRGB XYZ "
        + struct.pack(">6H", 2024, 1, 1, 0, 0, 0)
        + b"acsp"
        + b"APPL"
        + b"\x00" * 4
        + b"\x00" * 4
        + b"\x00" * 4
        + b"\x00" * 8
        + b"\x00" * 4
        + s15f16(0.9642)
        + s15f16(1.0)
        + s15f16(0.8249)
        + b"\x00" * 4
        + b"\x00" * 16
        + b"\x00" * 28
    )
    assert len(header) == 128
    return ImageCms.ImageCmsProfile(io.BytesIO(header + body))


def main():
    pillow_heif.register_heif_opener()
    OUT.mkdir(parents=True, exist_ok=True)

    # An iPhone photo: HEIC, sideways with orientation 6, GPS, camera and time.
    heic = io.BytesIO()
    stored_sideways("chelsea.png").save(heic, format="HEIF", quality=70, exif=IPHONE)
    (OUT / "iphone.heic").write_bytes(heic.getvalue())

    # An Android photo in AVIF, the same way.
    avif = io.BytesIO()
    stored_sideways("motorcycle_left.png").save(avif, format="AVIF", quality=70, exif=PIXEL)
    (OUT / "pixel.avif").write_bytes(avif.getvalue())

    # A Live Photo's still: a HEIC with the identifier of its video in XMP and a
    # thumbnail item beside the primary image (the service decodes the primary one).
    still = pillow_heif.from_pillow(Image.open(SRC / "rocket.jpg").convert("RGB"))
    still[0].info["thumbnails"] = [96]
    live = io.BytesIO()
    still.save(live, quality=70, exif=LIVE, xmp=LIVE_XMP)
    (OUT / "live-photo.heic").write_bytes(live.getvalue())

    (OUT / "motion-photo.jpg").write_bytes(motion_photo())
    (OUT / "display-p3.jpg").write_bytes(display_p3())
    list_files(OUT, ROOT)


if __name__ == "__main__":
    main()
