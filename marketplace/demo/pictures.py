"""Product pictures drawn locally with Pillow, so the demo needs no downloads."""
from pathlib import Path

from PIL import Image, ImageDraw

SHAPES = {
    "pear": ((236, 214, 120), "pear"), "peach": ((240, 160, 150), "round"), "hawthorn": ((196, 40, 48), "berries"),
    "millet": ((232, 190, 70), "grains"), "grains": ((190, 150, 90), "grains"), "tomato": ((220, 60, 50), "round"),
    "cucumber": ((80, 150, 70), "long"), "honey": ((230, 160, 30), "jar"), "walnut": ((150, 110, 70), "round"),
    "fertiliser": ((90, 120, 160), "sack"), "seed": ((200, 180, 60), "sack"), "oil": ((240, 200, 60), "bottle"),
    "detergent": ((80, 140, 220), "box"), "apple": ((200, 50, 60), "round"),
}


def draw_product_picture(kind, path, size=(640, 480)):
    """Draw a simple still life of `kind` on a soft background and save it as JPEG."""
    colour, shape = SHAPES.get(kind, ((160, 160, 160), "round"))
    image = Image.new("RGB", size, (247, 243, 232))
    draw = ImageDraw.Draw(image)
    draw.rectangle([0, size[1] * 0.72, size[0], size[1]], fill=(222, 210, 184))
    cx, cy = size[0] // 2, int(size[1] * 0.52)
    darker = tuple(max(0, c - 40) for c in colour)
    if shape == "pear":
        draw.ellipse([cx - 110, cy - 20, cx + 110, cy + 150], fill=colour, outline=darker, width=4)
        draw.ellipse([cx - 65, cy - 120, cx + 65, cy + 40], fill=colour, outline=darker, width=4)
        draw.line([cx, cy - 120, cx + 15, cy - 170], fill=(110, 80, 40), width=8)
        draw.ellipse([cx + 15, cy - 175, cx + 75, cy - 145], fill=(70, 140, 60))
    elif shape == "berries":
        for dx, dy in [(-90, 30), (0, 0), (90, 30), (-45, 90), (45, 90), (0, -70)]:
            draw.ellipse([cx + dx - 50, cy + dy - 50, cx + dx + 50, cy + dy + 50], fill=colour, outline=darker, width=3)
    elif shape == "grains":
        draw.pieslice([cx - 170, cy - 60, cx + 170, cy + 180], 180, 360, fill=colour, outline=darker, width=4)
        draw.rectangle([cx - 170, cy + 60, cx + 170, cy + 120], fill=(140, 100, 60))
    elif shape == "long":
        draw.rounded_rectangle([cx - 190, cy - 40, cx + 190, cy + 40], radius=40, fill=colour, outline=darker, width=4)
    elif shape in ("jar", "bottle"):
        draw.rounded_rectangle([cx - 80, cy - 110, cx + 80, cy + 140], radius=30, fill=colour, outline=darker, width=4)
        draw.rectangle([cx - 45, cy - 160, cx + 45, cy - 110], fill=darker)
    elif shape in ("sack", "box"):
        draw.rounded_rectangle([cx - 140, cy - 130, cx + 140, cy + 150], radius=25 if shape == "sack" else 4,
                               fill=colour, outline=darker, width=4)
        draw.rectangle([cx - 90, cy - 20, cx + 90, cy + 40], fill=(250, 250, 245))
    else:
        draw.ellipse([cx - 120, cy - 110, cx + 120, cy + 130], fill=colour, outline=darker, width=4)
        draw.ellipse([cx - 60, cy - 80, cx - 20, cy - 40], fill=tuple(min(255, c + 60) for c in colour))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, "JPEG", quality=82)
    thumb = image.copy()
    thumb.thumbnail((320, 240))
    thumb_path = path.with_name(path.stem + "-thumb.jpg")
    thumb.save(thumb_path, "JPEG", quality=80)
    return path, thumb_path
