"""Synthetic people: one appearance model and renderer shared by MOT sequences and ReID data.

Why one module: the synthetic MOT sequences (:mod:`.synthetic`) and the synthetic ReID dataset
(``reid_training.data.synthetic``) must show the same kind of people, otherwise a ReID model
trained on the crops would not help the tracker on the sequences. Pure numpy + OpenCV, no ROS.

Hard cases on purpose, so that colour statistics alone cannot re-identify people:

- *look-alikes* (:func:`make_lookalike`): a copy of another identity that differs in exactly
  one detail -- a bag, a chest logo, stripes, the shoes, a hat or a print on the back;
- *views*: ``side`` (walking left/right), ``front`` and ``back``. A chest logo is only seen from
  the front/side, a back print and most of a backpack only from the back, the face only from
  the front/side, so the front and back of one person look different;
- many achromatic (black/grey/white) and dark clothes, like real street scenes.

Rendering uses filled convex shapes and thick lines in units of the body height, so one code
path draws 30 px and 500 px people (~50 us per person at 256 px).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

import cv2
import numpy as np

Color = tuple[int, int, int, int]  # BGRA

VIEWS = ("side", "front", "back")
PATTERNS = ("plain", "stripes", "two_tone", "logo")
BAGS = ("none", "backpack", "shoulder")
#: Details a look-alike changes (exactly one of them).
LOOKALIKE_DETAILS = ("bag", "logo", "stripes", "shoes", "hat", "back_print")

_SKINS = [(189, 224, 255), (150, 190, 234), (120, 160, 210), (80, 115, 170), (55, 80, 120), (170, 205, 240)]
_HAIRS = [(20, 20, 25), (30, 45, 70), (40, 80, 130), (90, 150, 200), (160, 160, 165), (25, 30, 60)]
_TROUSERS = [(40, 30, 25), (110, 70, 40), (25, 25, 25), (90, 90, 90), (120, 170, 190), (40, 60, 80),
             (150, 100, 60), (60, 40, 100), (200, 200, 200), (30, 80, 40), (30, 30, 35), (70, 50, 40)]
_SHOES = [(20, 20, 20), (230, 230, 230), (40, 40, 160), (60, 90, 120), (160, 90, 30), (30, 160, 200)]


@dataclass(frozen=True)
class Appearance:
    """Clothing and body of one identity (BGRA colours); constant across frames and cameras."""

    skin: Color
    hair: Color
    shirt: Color
    shirt2: Color  # stripes / lower half / logo colour
    trousers: Color
    shoes: Color
    pattern: str  # one of PATTERNS
    shorts: bool
    long_hair: bool
    bag: str  # one of BAGS
    bag_color: Color
    hat: Color | None
    height_m: float
    width_factor: float
    short_sleeves: bool = False
    back_print: Color | None = None  # a print on the back of the shirt (seen from behind only)


def _bgra(c: tuple[int, int, int] | np.ndarray) -> Color:
    return int(c[0]), int(c[1]), int(c[2]), 255


def shade(c: Color, k: float) -> Color:
    """Colour ``c`` darkened (k < 1) or brightened (k > 1), clipped to 255."""
    return int(min(255, c[0] * k)), int(min(255, c[1] * k)), int(min(255, c[2] * k)), 255


def hsv_color(h: float, s: float, v: float) -> Color:
    """BGRA colour from hue/saturation/value in [0, 1]."""
    hsv = np.array([[[int(h * 180) % 180, int(s * 255), int(v * 255)]]], np.uint8)
    return _bgra(cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[0, 0])


def _contrast_color(c: Color, rng: np.random.Generator) -> Color:
    """A colour that stands out against ``c`` (for logos, stripes and prints)."""
    v = (0.299 * c[2] + 0.587 * c[1] + 0.114 * c[0]) / 255.0
    return hsv_color(rng.random(), rng.uniform(0.3, 0.9), 0.9 if v < 0.5 else rng.uniform(0.1, 0.35))


def make_appearance(i: int, rng: np.random.Generator) -> Appearance:
    """A look for identity number ``i``: shirt hues are spread by the golden ratio, a third of
    the shirts are black/grey/white (colour alone must not identify people)."""
    hue = (i * 0.618034 + rng.uniform(0, 0.1)) % 1.0
    if rng.random() < 0.3:  # achromatic shirts
        shirt = hsv_color(0, 0, float(rng.choice([0.1, 0.18, 0.45, 0.65, 0.92])))
    else:
        shirt = hsv_color(hue, rng.uniform(0.35, 0.95), rng.uniform(0.3, 0.95))
    shirt2 = _contrast_color(shirt, rng) if rng.random() < 0.6 else \
        hsv_color((hue + rng.uniform(0.3, 0.7)) % 1.0, rng.uniform(0.3, 0.9), rng.uniform(0.3, 0.95))
    return Appearance(
        skin=_bgra(_SKINS[rng.integers(len(_SKINS))]),
        hair=_bgra(_HAIRS[rng.integers(len(_HAIRS))]),
        shirt=shirt,
        shirt2=shirt2,
        trousers=_bgra(_TROUSERS[rng.integers(len(_TROUSERS))]),
        shoes=_bgra(_SHOES[0]) if rng.random() < 0.5 else _bgra(_SHOES[rng.integers(1, len(_SHOES))]),
        pattern=str(rng.choice(PATTERNS, p=[0.4, 0.2, 0.2, 0.2])),
        shorts=bool(rng.random() < 0.2),
        long_hair=bool(rng.random() < 0.3),
        bag=str(rng.choice(BAGS, p=[0.5, 0.3, 0.2])),
        bag_color=hsv_color(rng.random(), rng.uniform(0.0, 0.9), rng.uniform(0.15, 0.8)),
        hat=hsv_color(rng.random(), 0.7, 0.7) if rng.random() < 0.15 else None,
        height_m=float(np.clip(rng.normal(1.74, 0.08), 1.55, 1.95)),
        width_factor=float(np.clip(rng.normal(1.0, 0.07), 0.85, 1.2)),
        short_sleeves=bool(rng.random() < 0.35),
        back_print=_contrast_color(shirt, rng) if rng.random() < 0.15 else None,
    )


def make_lookalike(base: Appearance, rng: np.random.Generator, detail: str | None = None) -> tuple[Appearance, str]:
    """A different identity dressed like ``base`` except for one ``detail`` (random when None).

    Returns ``(appearance, detail)``. Body size and skin vary slightly, as between two people.
    """
    if detail is None:
        detail = str(rng.choice(LOOKALIKE_DETAILS))
    if detail not in LOOKALIKE_DETAILS:
        raise ValueError(f"make_lookalike: detail must be one of {LOOKALIKE_DETAILS}, got {detail!r}")
    if detail == "bag":
        changes = dict(bag="none") if base.bag != "none" else dict(
            bag=str(rng.choice(["backpack", "shoulder"])),
            bag_color=hsv_color(rng.random(), rng.uniform(0.0, 0.9), rng.uniform(0.15, 0.8)))
    elif detail == "logo":
        changes = dict(pattern="plain") if base.pattern == "logo" else dict(
            pattern="logo", shirt2=_contrast_color(base.shirt, rng))
    elif detail == "stripes":
        changes = dict(pattern="plain") if base.pattern == "stripes" else dict(
            pattern="stripes", shirt2=_contrast_color(base.shirt, rng))
    elif detail == "shoes":
        others = [s for s in _SHOES if _bgra(s) != base.shoes]
        changes = dict(shoes=_bgra(others[rng.integers(len(others))]))
    elif detail == "hat":
        changes = dict(hat=None) if base.hat is not None else dict(hat=hsv_color(rng.random(), 0.7, 0.6))
    else:  # back_print
        changes = dict(back_print=None) if base.back_print is not None else dict(
            back_print=_contrast_color(base.shirt, rng))
    changes["height_m"] = float(np.clip(base.height_m + rng.normal(0, 0.03), 1.55, 1.95))
    changes["width_factor"] = float(np.clip(base.width_factor + rng.normal(0, 0.03), 0.85, 1.2))
    return replace(base, **changes), detail


def make_population(n: int, rng: np.random.Generator, lookalike_fraction: float = 0.3,
                    first_index: int = 0) -> tuple[list[Appearance], list[tuple[int, str] | None]]:
    """``n`` appearances, about ``lookalike_fraction`` of them look-alikes of an earlier one.

    Returns ``(appearances, origins)``; ``origins[i]`` is ``(j, detail)`` when person ``i``
    copies person ``j`` except for ``detail``, else None.
    """
    if n < 0 or not 0.0 <= lookalike_fraction <= 1.0:
        raise ValueError(f"make_population: need n >= 0 and lookalike_fraction in [0, 1], "
                         f"got n={n}, lookalike_fraction={lookalike_fraction}")
    apps: list[Appearance] = []
    origins: list[tuple[int, str] | None] = []
    for i in range(n):
        if i > 0 and rng.random() < lookalike_fraction:
            j = int(rng.integers(i))
            app, detail = make_lookalike(apps[j], rng)
            apps.append(app)
            origins.append((j, detail))
        else:
            apps.append(make_appearance(first_index + i, rng))
            origins.append(None)
    return apps, origins


# --------------------------------------------------------------------------------------------
# Rendering


class _Canvas:
    """Drawing helpers in body units: x relative to the centre line, y from head (0) to feet (1)."""

    def __init__(self, app: Appearance, h: int) -> None:
        self.h = h
        self.wf = app.width_factor
        self.pw = max(int(round(0.6 * h * app.width_factor)), 8)
        self.img = np.zeros((h, self.pw, 4), np.uint8)
        self.cx = self.pw / 2.0

    def p(self, x: float, y: float) -> tuple[int, int]:
        return int(round(self.cx + x * self.h * self.wf)), int(round(y * self.h))

    def th(self, v: float) -> int:
        return max(1, int(round(v * self.h * self.wf)))

    def line(self, a: tuple[float, float], b: tuple[float, float], col: Color, w: float) -> None:
        cv2.line(self.img, self.p(*a), self.p(*b), col, self.th(w), cv2.LINE_8)

    def rect(self, a: tuple[float, float], b: tuple[float, float], col: Color) -> None:
        cv2.rectangle(self.img, self.p(*a), self.p(*b), col, -1, cv2.LINE_8)

    def circle(self, c: tuple[float, float], r: float, col: Color) -> None:
        cv2.circle(self.img, self.p(*c), self.th(r), col, -1, cv2.LINE_8)

    def poly(self, pts: list[tuple[float, float]], col: Color) -> None:
        cv2.fillConvexPoly(self.img, np.array([self.p(x, y) for x, y in pts], np.int32), col, cv2.LINE_8)


def _torso(c: _Canvas, app: Appearance, half_w: tuple[float, float], offset: float, front_detail: bool,
           back_detail: bool) -> None:
    """Shirt with its pattern; ``half_w`` = half-widths at the shoulders and the hips."""
    y0, y1 = 0.165, 0.53

    def hw(y: float) -> float:
        return half_w[0] + (half_w[1] - half_w[0]) * (y - y0) / (y1 - y0)

    def band(ya: float, yb: float, col: Color) -> None:
        c.poly([(offset - hw(ya), ya), (offset + hw(ya), ya), (offset + hw(yb), yb), (offset - hw(yb), yb)], col)

    band(y0, y1, app.shirt)
    if app.pattern == "stripes":
        for y in np.arange(0.2, 0.5, 0.07):
            band(float(y), float(y) + 0.033, app.shirt2)
    elif app.pattern == "two_tone":
        band(0.36, y1, app.shirt2)
    elif app.pattern == "logo" and front_detail:
        c.rect((offset - 0.035, 0.24), (offset + 0.035, 0.31), app.shirt2)
    if app.back_print is not None and back_detail:
        c.rect((offset - 0.06, 0.22), (offset + 0.06, 0.34), app.back_print)
        c.rect((offset - 0.03, 0.25), (offset + 0.03, 0.31), app.shirt)


def _render_side(c: _Canvas, app: Appearance, phase: float) -> None:
    """Profile view walking to the right (mirrored by the caller for the left)."""
    swing = math.sin(phase)
    lift = max(0.0, math.cos(phase))
    sleeve = app.skin if app.short_sleeves else None

    def leg(sign: float, col: Color) -> None:
        foot_x = 0.12 * swing * sign
        hip, foot = (0.02 * sign, 0.51), (foot_x, 0.955)
        knee = (0.55 * foot_x + 0.02, 0.735 - 0.01 * (lift if sign > 0 else 1 - lift))
        c.line(hip, knee, col, 0.075)
        c.line(knee, foot, app.skin if app.shorts else col, 0.065)
        c.line(foot, (foot_x + 0.05, 0.985), app.shoes, 0.04)

    def arm(sign: float, col: Color) -> None:
        hand_x = -0.10 * swing * sign
        elbow, hand = (0.5 * hand_x, 0.335), (hand_x + 0.02, 0.47)
        c.line((0.0, 0.19), elbow, col, 0.055)
        c.line(elbow, hand, sleeve or col, 0.048)
        c.circle(hand, 0.027, app.skin)

    if app.bag == "backpack":
        c.rect((-0.19, 0.19), (-0.07, 0.43), app.bag_color)
    arm(-1.0, shade(app.shirt, 0.7))
    leg(-1.0, shade(app.trousers, 0.75))
    leg(1.0, app.trousers)
    _torso(c, app, (0.11, 0.085), 0.0, front_detail=True, back_detail=False)
    if app.bag == "shoulder":
        c.line((0.07, 0.18), (-0.08, 0.44), shade(app.bag_color, 0.6), 0.015)
        c.rect((-0.15, 0.41), (-0.03, 0.53), app.bag_color)
    elif app.bag == "backpack":
        c.line((0.06, 0.18), (-0.07, 0.4), shade(app.bag_color, 0.6), 0.015)
    arm(1.0, app.shirt)
    c.rect((-0.02, 0.12), (0.025, 0.17), app.skin)  # neck
    if app.long_hair:
        c.rect((-0.07, 0.07), (-0.01, 0.21), app.hair)
    c.circle((-0.005, 0.07), 0.064, app.hair)
    c.circle((0.013, 0.083), 0.054, app.skin)
    if app.hat is not None:
        c.rect((-0.065, 0.0), (0.055, 0.045), app.hat)
        c.line((0.0, 0.045), (0.1, 0.045), app.hat, 0.012)


def _render_frontal(c: _Canvas, app: Appearance, phase: float, back: bool) -> None:
    """Front or back view: legs alternate in height with the gait phase, arms hang at the sides."""
    swing = math.sin(phase)
    sleeve = app.skin if app.short_sleeves else None
    if app.bag == "backpack" and not back:  # peeks out behind the shoulders
        c.rect((-0.15, 0.17), (0.15, 0.25), shade(app.bag_color, 0.8))
    for sign in (-1.0, 1.0):
        up = max(0.0, swing * sign)  # this leg is in its swing phase: foot lifted, knee bent
        hip, knee, foot = (0.05 * sign, 0.5), (0.055 * sign, 0.73 - 0.02 * up), (0.055 * sign, 0.95 - 0.035 * up)
        col = app.trousers if sign > 0 else shade(app.trousers, 0.9)
        c.line(hip, knee, col, 0.075)
        c.line(knee, foot, app.skin if app.shorts else col, 0.065)
        c.rect((0.055 * sign - 0.035, foot[1] - 0.01), (0.055 * sign + 0.035, foot[1] + 0.03), app.shoes)
    for sign in (-1.0, 1.0):
        dy = 0.015 * swing * sign
        elbow, hand = (0.13 * sign, 0.34 + dy), (0.14 * sign, 0.47 + dy)
        c.line((0.115 * sign, 0.19), elbow, shade(app.shirt, 0.85), 0.05)
        c.line(elbow, hand, sleeve or shade(app.shirt, 0.85), 0.045)
        c.circle(hand, 0.026, app.skin)
    _torso(c, app, (0.12, 0.095), 0.0, front_detail=not back, back_detail=back)
    if app.bag == "backpack":
        if back:
            c.rect((-0.1, 0.2), (0.1, 0.44), app.bag_color)
            c.rect((-0.08, 0.34), (0.08, 0.42), shade(app.bag_color, 0.75))
        else:
            for sign in (-1.0, 1.0):
                c.line((0.07 * sign, 0.17), (0.075 * sign, 0.4), shade(app.bag_color, 0.6), 0.02)
    elif app.bag == "shoulder":
        c.line((0.09, 0.17), (-0.09, 0.45), shade(app.bag_color, 0.6), 0.015)
        c.rect((-0.17, 0.42), (-0.07, 0.53), app.bag_color)
    c.rect((-0.025, 0.12), (0.025, 0.17), app.skin)  # neck
    if app.long_hair:
        c.rect((-0.065, 0.06), (0.065, 0.2 if back else 0.16), app.hair)
    c.circle((0.0, 0.07), 0.064, app.hair)
    if not back:
        c.circle((0.0, 0.085), 0.052, app.skin)
    if app.hat is not None:
        c.rect((-0.065, 0.0), (0.065, 0.045), app.hat)


def render_person(app: Appearance, height_px: float, phase: float, facing_right: bool = True,
                  view: str = "side") -> np.ndarray:
    """BGRA patch (alpha = silhouette) of a walking person whose feet touch the bottom row.

    ``phase`` is the gait phase in radians; ``view`` is ``side`` (walking right, or left when
    ``facing_right`` is False: the mirror image), ``front`` or ``back``.
    """
    if view not in VIEWS:
        raise ValueError(f"render_person: view must be one of {VIEWS}, got {view!r}")
    c = _Canvas(app, max(int(round(height_px)), 12))
    if view == "side":
        _render_side(c, app, phase)
    else:
        _render_frontal(c, app, phase, back=view == "back")
    img = c.img
    if not facing_right:
        img = np.ascontiguousarray(img[:, ::-1])
    return img
