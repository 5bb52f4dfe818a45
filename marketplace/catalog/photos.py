"""Product photos: checked, re-encoded and thumbnailed, so no uploaded byte is ever served as sent.

Only JPEG, PNG and WebP pictures up to MAX_PHOTO_BYTES are taken. The pixel count is read from
the header before any decoding, so a decompression bomb (a small file that expands to gigabytes)
is refused without being decoded. What is kept is a fresh JPEG (EXIF and any trailing data
dropped) and a 320×240 thumbnail, under random names.
"""
import uuid
import warnings
from io import BytesIO
from pathlib import Path

from flask import current_app
from flask_babel import lazy_gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from marketplace.errors import DomainError

MAX_PHOTO_BYTES = 5 * 1024 * 1024
MAX_PHOTO_PIXELS = 24_000_000
ALLOWED_FORMATS = {"JPEG", "PNG", "WEBP"}
PHOTO_SIZE = (1280, 1280)
THUMBNAIL_SIZE = (320, 240)


class BadPhoto(DomainError):
    code = "bad_photo"


def reencoded_photo(data):
    """Check `data` and return (full JPEG bytes, thumbnail JPEG bytes); BadPhoto if refused."""
    if not data:
        raise BadPhoto(_("Choose a photo to upload."), field="photo")
    if len(data) > MAX_PHOTO_BYTES:
        raise BadPhoto(_("The photo is larger than 5 MB."), field="photo")
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(BytesIO(data)) as image:
                if image.format not in ALLOWED_FORMATS:
                    raise BadPhoto(_("Only JPEG, PNG or WebP photos are accepted."), field="photo")
                width, height = image.size
                if width * height > MAX_PHOTO_PIXELS:
                    raise BadPhoto(_("The photo has too many pixels."), field="photo")
                image.load()
                picture = ImageOps.exif_transpose(image).convert("RGB")
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
            raise BadPhoto(_("The photo has too many pixels."), field="photo") from error
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as error:
            raise BadPhoto(_("This file is not a picture we can read."), field="photo") from error
    picture.thumbnail(PHOTO_SIZE)
    full = BytesIO()
    picture.save(full, "JPEG", quality=85, optimize=True)
    thumbnail = ImageOps.fit(picture, THUMBNAIL_SIZE)
    small = BytesIO()
    thumbnail.save(small, "JPEG", quality=80)
    return full.getvalue(), small.getvalue()


def save_photo_files(data, folder_name="products"):
    """Re-encode and write the photo and its thumbnail under UPLOAD_DIR/`folder_name`; returns their
    relative names."""
    return write_reencoded(reencoded_photo(data), folder_name)


def write_reencoded(reencoded, folder_name):
    """Write (full, thumbnail) JPEG bytes from `reencoded_photo` under random names; returns their relative names."""
    full, small = reencoded
    name = uuid.uuid4().hex
    folder = Path(current_app.config["UPLOAD_DIR"]) / folder_name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.jpg").write_bytes(full)
    (folder / f"{name}-thumb.jpg").write_bytes(small)
    return f"{folder_name}/{name}.jpg", f"{folder_name}/{name}-thumb.jpg"
