#!/usr/bin/env python
"""Blind synthetic multi-person tracking data generator (MOTChallenge layout).

usage: python scripts/blind_generator.py OUT_DIR [SEQ_NAME ...]

Written on 2026-12-08 by a helper that had not seen this project's code, as a blind check of
the trackers on a third renderer (docs/validation.md, "A blind check"). It imports nothing from
the project on purpose.

Self-contained: perspective ground plane + backdrop rendered by ray casting into
procedural world textures, articulated 2D-projected people with cloth textures,
3D props (poles, bins, benches, signs, trees, pillars), soft shadows, lighting
drift, blur, sensor noise, JPEG.  GT visibility is computed per pixel from an
id-buffer (occlusion by people, props and image border).  Detections come from
a simple stochastic detector model with per-sequence score calibration.
Deterministic (fixed seeds).
"""
import os
import sys
import math
import numpy as np
import cv2
from scipy.ndimage import gaussian_filter1d

cv2.setNumThreads(1)

SEQS = [
    dict(name='BLIND-1', W=960, H=540, fps=25, N=300, f=830, h=7.0, tilt=20, n=12,
         scene='plaza', backdrop='city', cal='cnn', seed=101, wall=45.0,
         ymin=7.0, ymax=32.0, noise=3.0, blur=0.7, fp_bg=0.15, pmax=0.93, dup=0.03,
         burst=0.004, edges=dict(left=.35, right=.35, bottom=.3), dark=0.15, runners=0.03,
         light=(0.45, 0.35), shadow=0.45, gain_amp=0.08),
    dict(name='BLIND-2', W=640, H=480, fps=15, N=200, f=550, h=1.7, tilt=3, n=8,
         scene='street', backdrop='city', cal='dpm', seed=202, wall=24.0,
         ymin=4.0, ymax=21.0, noise=4.5, blur=0.8, fp_bg=1.0, pmax=0.86, dup=0.06,
         burst=0.006, edges=dict(left=.5, right=.5), dark=0.2, runners=0.0,
         light=(-0.5, 0.6), shadow=0.35, gain_amp=0.10),
    dict(name='BLIND-3', W=1280, H=720, fps=30, N=300, f=1100, h=8.0, tilt=40, n=21,
         scene='bricks', backdrop='city', cal='cnn_fp', seed=303, wall=40.0,
         ymin=5.5, ymax=18.0, noise=3.5, blur=0.7, fp_bg=1.6, pmax=0.90, dup=0.05,
         burst=0.005, edges=dict(left=.3, right=.3, bottom=.2, top=.2), dark=0.2, runners=0.03,
         light=(0.3, -0.5), shadow=0.5, gain_amp=0.06),
    dict(name='BLIND-4', W=960, H=540, fps=20, N=250, f=800, h=3.5, tilt=10, n=10,
         scene='park', backdrop='trees', cal='flat', seed=404, wall=40.0,
         ymin=6.5, ymax=36.0, noise=3.5, blur=0.75, fp_bg=0.5, pmax=0.90, dup=0.04,
         burst=0.005, edges=dict(left=.4, right=.4, bottom=.2), dark=0.15, runners=0.08,
         light=(-0.6, 0.3), shadow=0.4, gain_amp=0.12, yaw=(-14.0, 14.0)),
    dict(name='BLIND-5', W=800, H=450, fps=10, N=150, f=700, h=5.0, tilt=15, n=9,
         scene='hall', backdrop='shops', cal='cnn2', seed=505, wall=32.0,
         ymin=8.0, ymax=29.0, noise=5.0, blur=0.9, fp_bg=0.4, pmax=0.90, dup=0.04,
         burst=0.006, edges=dict(left=.35, right=.35, bottom=.3), dark=0.2, runners=0.2,
         light=(0.1, 0.15), shadow=0.3, gain_amp=0.05),
    dict(name='BLIND-6', W=960, H=540, fps=25, N=250, f=850, h=4.0, tilt=15, n=12,
         scene='crossing', backdrop='city', cal='over', seed=606, wall=35.0,
         ymin=7.0, ymax=24.0, noise=4.0, blur=0.75, fp_bg=0.5, pmax=0.92, dup=0.04,
         burst=0.005, edges=dict(left=.5, right=.5), dark=0.85, runners=0.0, crossing=True,
         light=(0.2, 0.3), shadow=0.2, gain_amp=0.07),
]


# ----------------------------------------------------------------------------- camera
class Camera:
    def __init__(s, W, H, f, h, tilt, yaw=0.0):
        s.W, s.H, s.f, s.h = W, H, float(f), float(h)
        s.cx, s.cy = W / 2.0, H / 2.0
        s.tilt = math.radians(tilt)
        s.C = np.array([0.0, 0.0, h])
        p = math.radians(yaw)
        t = s.tilt
        s.r = np.array([math.cos(p), -math.sin(p), 0.0])
        s.d = np.array([math.sin(p) * math.cos(t), math.cos(p) * math.cos(t), -math.sin(t)])
        s.dn = -np.cross(s.r, s.d)
        s.R = np.stack([s.r, s.dn, s.d])
        s.fwd2 = np.array([math.sin(p), math.cos(p)])

    def project(s, P):
        P = np.asarray(P, float)
        Pc = (P - s.C) @ s.R.T
        z = Pc[..., 2]
        zs = np.maximum(z, 1e-3)
        return s.f * Pc[..., 0] / zs + s.cx, s.f * Pc[..., 1] / zs + s.cy, z

    def ground_point(s, u, v):
        dv = s.d + (u - s.cx) / s.f * s.r + (v - s.cy) / s.f * s.dn
        if dv[2] >= -1e-6:
            return None
        return s.C + (-s.h / dv[2]) * dv

    def person_box(s, X, Y, Hm=1.85):
        uf, vf, zf = s.project([X, Y, 0.0])
        uh, vh, zh = s.project([X, Y, Hm])
        if zf < 0.3:
            return None
        hp = vf - vh
        w = 0.3 * hp
        return (min(uf, uh) - w, vh, max(uf, uh) + w, vf)

    def outside(s, X, Y):
        b = s.person_box(X, Y)
        if b is None:
            return True
        return b[2] < -2 or b[0] > s.W + 2 or b[3] < -2 or b[1] > s.H + 2

    def inside_center(s, X, Y):
        b = s.person_box(X, Y)
        if b is None:
            return False
        cu, cv = (b[0] + b[2]) / 2, (b[1] + b[3]) / 2
        return 0 <= cu < s.W and 0 <= cv < s.H


# ----------------------------------------------------------------------------- textures
def hash01(a, b, seed):
    a = a.astype(np.int64)
    b = b.astype(np.int64)
    h = (a * 73856093) ^ (b * 19349663) ^ (seed * 83492791)
    h = (h ^ (h >> 13)) * 1274126177
    h = h ^ (h >> 16)
    return (h & 0xFFFFFF).astype(np.float32) / float(0xFFFFFF)


def vnoise(shape, cell, rng, octaves=3, persist=0.5):
    H, W = shape
    acc = np.zeros(shape, np.float32)
    amp, tot = 1.0, 0.0
    for o in range(octaves):
        c = max(1, int(round(cell / (2 ** o))))
        sh, sw = H // c + 3, W // c + 3
        small = rng.random((sh, sw)).astype(np.float32)
        up = cv2.resize(small, (sw * c, sh * c), interpolation=cv2.INTER_CUBIC)
        acc += amp * up[:H, :W]
        tot += amp
        amp *= persist
    acc /= tot
    acc = (acc - acc.mean()) / (acc.std() + 1e-6)
    return acc  # zero-mean, unit-std


def tiles(X, Y, sx, sy, grout, seed, bond=False):
    row = np.floor(Y / sy)
    Xo = X + (0.5 * sx * (row % 2) if bond else 0.0)
    col = np.floor(Xo / sx)
    fx = Xo / sx - col
    fy = Y / sy - row
    edge = np.minimum(np.minimum(fx, 1 - fx) * sx, np.minimum(fy, 1 - fy) * sy)
    g = np.clip(edge / grout, 0, 1)
    return g, hash01(col, row, seed), hash01(col + 7, row - 3, seed + 1)


def mix(a, b, m):
    m = m[..., None] if m.ndim == 2 else m
    return a * (1 - m) + b * m


def C(*rgb):
    return np.array(rgb, np.float32)


def ground_texture(scene, rng, X, Y):
    sh = X.shape
    n1 = vnoise(sh, 60, rng, 4)
    n2 = vnoise(sh, 6, rng, 2)
    out = np.zeros(sh + (3,), np.float32)
    if scene == 'plaza':
        g, r1, r2 = tiles(X, Y, 0.6, 0.6, 0.02, 11)
        base = C(178, 172, 160) * (0.86 + 0.22 * r1)[..., None]
        band = ((np.floor(Y / 0.6) % 9) == 0) | ((np.floor(X / 0.6) % 11) == 0)
        base = np.where(band[..., None], C(112, 114, 120) * (0.9 + 0.15 * r2)[..., None], base)
        out = mix(C(95, 92, 88), base, g)
        out *= (1 + 0.06 * n1 + 0.05 * n2)[..., None]
        grass = (C(72, 108, 48) * (1 + 0.15 * n1 + 0.18 * n2)[..., None])
        gm = np.clip((X - 9.0) / 0.08, 0, 1)
        curb = (np.abs(X - 9.0) < 0.15)
        out = mix(out, grass, gm)
        out[curb] = C(200, 198, 190)
    elif scene == 'street':
        g, r1, _ = tiles(X, Y, 0.3, 0.3, 0.012, 21, bond=True)
        side = mix(C(90, 90, 92), C(150, 150, 148) * (0.9 + 0.15 * r1)[..., None], g)
        asph = C(72, 72, 75) * (1 + 0.08 * n1 + 0.12 * n2)[..., None]
        road = (Y > 9.2) & (Y < 16.0)
        out = np.where(road[..., None], asph, side)
        dash = (np.abs(Y - 12.6) < 0.08) & ((np.floor(X / 3.0) % 2) == 0)
        zebra = (X > -3) & (X < 1) & (Y > 9.7) & (Y < 15.5) & ((X - np.floor(X)) < 0.5)
        out[dash | zebra] = C(215, 215, 205)
        out[((Y > 9.0) & (Y < 9.2)) | ((Y > 16.0) & (Y < 16.2))] = C(185, 182, 176)
        out *= (1 + 0.05 * n1 + 0.03 * n2)[..., None]
    elif scene == 'bricks':
        g, r1, r2 = tiles(X, Y, 0.22, 0.11, 0.012, 31, bond=True)
        bc = mix(C(150, 70, 55), C(120, 90, 70), r2) * (0.8 + 0.3 * r1)[..., None]
        out = mix(C(110, 100, 92), bc, g)
        rr = np.hypot(X - 1.0, Y - 13.0)
        g2, s1, _ = tiles(X, Y, 1.0, 1.0, 0.015, 33)
        stone = mix(C(120, 120, 118), C(185, 182, 175) * (0.9 + 0.15 * s1)[..., None], g2)
        out = np.where((rr < 4.0)[..., None], stone, out)
        out[(rr >= 4.0) & (rr < 4.6)] = C(70, 72, 76)
        out *= (1 + 0.07 * n1 + 0.05 * n2)[..., None]
    elif scene == 'park':
        grass = C(70, 112, 45) * (1 + 0.14 * n1 + 0.2 * n2)[..., None]
        fine = vnoise(sh, 2, rng, 1)
        gravel = C(168, 150, 120) * (1 + 0.06 * n1 + 0.12 * fine)[..., None]
        d1 = np.abs(Y - 12.0 - 0.08 * X) - 2.4 + 0.3 * n1
        d2 = np.abs(X + 0.35 * (Y - 12.0) - 3.0) - 1.2 + 0.2 * n1
        m = np.clip(0.5 - np.minimum(d1, d2) / 0.3, 0, 1)
        out = mix(grass, gravel, m)
    elif scene == 'hall':
        g, r1, _ = tiles(X, Y, 1.0, 1.0, 0.01, 51)
        chk = ((np.floor(X) + np.floor(Y)) % 2) == 0
        tc = np.where(chk[..., None], C(205, 200, 190), C(125, 122, 128)) * (0.95 + 0.08 * r1)[..., None]
        out = mix(C(80, 80, 80), tc, g)
        spots = (np.cos(X * 2 * np.pi / 6.0) * np.cos(Y * 2 * np.pi / 6.0))
        out *= (1 + 0.12 * np.clip(spots, 0, 1) ** 3 + 0.03 * n1)[..., None]
    elif scene == 'crossing':
        asph = C(62, 62, 66) * (1 + 0.08 * n1 + 0.14 * n2)[..., None]
        g, r1, _ = tiles(X, Y, 0.5, 0.5, 0.015, 61)
        side = mix(C(80, 80, 82), C(135, 135, 138) * (0.9 + 0.15 * r1)[..., None], g)
        out = np.where(((Y < 8.0) | (Y > 24.0))[..., None], side, asph)
        zebra = (Y > 12.0) & (Y < 16.5) & (X > -9) & (X < 9) & ((X - np.floor(X)) < 0.5)
        out[zebra] = C(200, 200, 195) * (1 + 0.05 * n2[zebra])[..., None]
        out[(np.abs(Y - 8.0) < 0.12) | (np.abs(Y - 24.0) < 0.12)] = C(170, 168, 160)
        out[(np.abs(Y - 20.2) < 0.07) & ((np.floor(X / 2.0) % 2) == 0)] = C(200, 180, 60)
    return np.clip(out, 0, 255).astype(np.float32)


def backdrop_texture(kind, rng, X, Z):
    """X: lateral, Z: height (m) on the backdrop plane."""
    sh = X.shape
    n1 = vnoise(sh, 40, rng, 3)
    sky_t = np.clip(Z / 40.0, 0, 1)[..., None]
    sky = mix(C(200, 212, 225), C(120, 160, 215), sky_t)
    cl = vnoise(sh, 120, rng, 4)
    sky = mix(sky, C(235, 235, 238), np.clip(cl * 0.4, 0, 1))
    out = sky.copy()
    if kind in ('city', 'shops'):
        xs = [-100.0]
        while xs[-1] < 100:
            xs.append(xs[-1] + rng.uniform(7, 18))
        pal = [C(170, 160, 145), C(140, 120, 100), C(190, 185, 175), C(120, 125, 135), C(160, 110, 90),
               C(200, 190, 160), C(100, 100, 105)]
        for a, b in zip(xs[:-1], xs[1:]):
            m = (X >= a) & (X < b)
            height = rng.uniform(8, 22) if kind == 'city' else 9.0
            col = pal[rng.integers(len(pal))] * rng.uniform(0.85, 1.1)
            bm = m & (Z < height)
            wall = np.empty(sh + (3,), np.float32)
            wall[:] = col
            wx = (X - a) % 3.0
            wz = Z % 3.2
            win = (wx > 0.8) & (wx < 2.2) & (wz > 0.9) & (wz < 2.5) & (Z > 4.0) & (Z < height - 0.8)
            lit = hash01(np.floor((X - a) / 3.0), np.floor(Z / 3.2), int(a * 10) % 1000) > 0.8
            wcol = np.where(lit[..., None], C(210, 200, 150), C(60, 70, 85))
            wall = np.where(win[..., None], wcol, wall)
            shop = (Z < 3.4) & (Z > 0.3) & (((X - a) % 5.0) > 0.6)
            wall = np.where(shop[..., None], C(45, 55, 60) * (1 + 0.25 * n1)[..., None], wall)
            if kind == 'shops':
                sign = (Z > 3.6) & (Z < 4.5) & (((X - a) % 5.0) > 0.6)
                wall = np.where(sign[..., None], pal[(int(a) + 3) % len(pal)] * 1.2, wall)
            wall *= (1 + 0.04 * n1)[..., None]
            out = np.where(bm[..., None], wall, out)
        if kind == 'shops':
            ceil = Z > 9.0
            out = np.where(ceil[..., None], C(150, 150, 155) * (1 + 0.05 * n1)[..., None], out)
    elif kind == 'trees':
        th = 9.0 + 3.0 * gaussian_filter1d(rng.standard_normal(sh[1]).astype(np.float32), 15) * 4
        fol = C(45, 75, 35) * (1 + 0.25 * vnoise(sh, 8, rng, 3) + 0.15 * n1)[..., None]
        out = np.where((Z < th[None, :])[..., None], fol, out)
        hedge = Z < 1.3
        out = np.where(hedge[..., None], C(40, 70, 30) * (1 + 0.2 * vnoise(sh, 4, rng, 2))[..., None], out)
    return np.clip(out, 0, 255).astype(np.float32)


class MipTex:
    def __init__(s, img, x0, y0, res, levels=6):
        s.pyr = [img]
        for _ in range(levels - 1):
            s.pyr.append(cv2.pyrDown(s.pyr[-1]))
        s.x0, s.y0, s.res = x0, y0, res

    def sample(s, mx, my, lvl, valid):
        """mx,my: level-0 texel coords (float32 maps), lvl: float mip level."""
        H, W = mx.shape
        out = np.zeros((H, W, 3), np.float32)
        L = len(s.pyr)
        lvl = np.clip(lvl, 0, L - 1)
        for k in range(L):
            w = np.clip(1 - np.abs(lvl - k), 0, 1) * valid
            rows = np.where(w.max(axis=1) > 0)[0]
            if len(rows) == 0:
                continue
            r0, r1 = rows.min(), rows.max() + 1
            sc = 1.0 / (2 ** k)
            smp = cv2.remap(s.pyr[k], (mx[r0:r1] * sc).astype(np.float32), (my[r0:r1] * sc).astype(np.float32),
                            cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
            out[r0:r1] += smp * w[r0:r1, :, None]
        return out


class Scene:
    def __init__(s, cfg, rng):
        s.cfg = cfg
        gres = 0.04
        gx0, gx1, gy0, gy1 = -60.0, 60.0, 0.0, cfg['wall'] + 5
        gx, gy = np.meshgrid(np.arange(gx0, gx1, gres, dtype=np.float32),
                             np.arange(gy0, gy1, gres, dtype=np.float32))
        s.ground = MipTex(ground_texture(cfg['scene'], rng, gx, gy), gx0, gy0, gres)
        wres = 0.08
        wx0, wx1, wz1 = -120.0, 120.0, 60.0
        wx, wz = np.meshgrid(np.arange(wx0, wx1, wres, dtype=np.float32),
                             np.arange(wz1, 0, -wres, dtype=np.float32))
        s.wall = MipTex(backdrop_texture(cfg['backdrop'], rng, wx, wz), wx0, wz1, wres)
        s.haze = C(200, 205, 210)

    def render(s, cam):
        H, W = cam.H, cam.W
        u, v = np.meshgrid(np.arange(W, dtype=np.float32) + 0.5, np.arange(H, dtype=np.float32) + 0.5)
        a = (u - cam.cx) / cam.f
        b = (v - cam.cy) / cam.f
        D = [cam.d[i] + a * cam.r[i] + b * cam.dn[i] for i in range(3)]
        nrm = np.sqrt(D[0] ** 2 + D[1] ** 2 + D[2] ** 2)
        tg = np.where(D[2] < -1e-6, -cam.h / np.minimum(D[2], -1e-6), np.inf)
        Yw = s.cfg['wall']
        tw = np.where(D[1] > 1e-6, Yw / np.maximum(D[1], 1e-6), np.inf)
        isw = tw < tg
        # ground
        tgs = np.where(isw, 1.0, tg)
        Xg = tgs * D[0]
        Yg = tgs * D[1]
        dist_g = tgs * nrm
        fp = dist_g / cam.f / np.sqrt(np.abs(D[2]) / nrm + 1e-3)
        lvl = np.log2(np.maximum(fp / s.ground.res, 1e-3))
        gcol = s.ground.sample((Xg - s.ground.x0) / s.ground.res, (Yg - s.ground.y0) / s.ground.res,
                               lvl, (~isw).astype(np.float32))
        tws = np.where(isw, tw, 1.0)
        Xw = tws * D[0]
        Zw = cam.h + tws * D[2]
        dist_w = tws * nrm
        fpw = dist_w / cam.f / np.sqrt(np.abs(D[1]) / nrm + 1e-3)
        lvlw = np.log2(np.maximum(fpw / s.wall.res, 1e-3))
        wcol = s.wall.sample((Xw - s.wall.x0) / s.wall.res, (s.wall.y0 - Zw) / s.wall.res, lvlw,
                             isw.astype(np.float32))
        img = gcol + wcol
        dist = np.where(isw, dist_w, dist_g)
        hz = (1 - np.exp(-dist / 180.0))[..., None] * 0.8
        return img * (1 - hz) + s.haze * hz


# ----------------------------------------------------------------------------- props
def make_props(cfg, rng, cams):
    cam = cams[len(cams) // 2]
    sc = cfg['scene']
    spec = dict(plaza=dict(pole=3, bin=2, bench=2, sign=1, tree=1),
                street=dict(pole=2, bin=1, sign=1, bench=1),
                bricks=dict(pole=3, bin=2, bench=2, tree=1, sign=1),
                park=dict(tree=4, bench=3, bin=2, pole=2),
                hall=dict(pillar=3, bin=2, sign=2, bench=1),
                crossing=dict(pole=4, sign=2, bin=1))[sc]
    props = []
    ymin, ymax = cfg['ymin'], cfg['ymax']
    for typ, n in spec.items():
        for _ in range(n):
            for _try in range(200):
                c = cams[rng.integers(len(cams))]
                u = rng.uniform(0.06, 0.94) * c.W
                v = rng.uniform(0.3, 0.97) * c.H
                G = c.ground_point(u, v)
                if G is None or not (ymin - 1 < G[1] < ymax):
                    continue
                if typ in ('tree', 'pillar') and G[1] < ymin + 6:
                    continue
                if any(math.hypot(G[0] - p['X'], G[1] - p['Y']) < 3.0 for p in props):
                    continue
                break
            p = dict(type=typ, X=float(G[0]), Y=float(G[1]), ang=rng.uniform(-0.4, 0.4),
                     fp=float(rng.choice([0.0, 0.01, 0.03, 0.15, 0.4], p=[0.3, 0.3, 0.2, 0.12, 0.08])))
            if typ == 'pole':
                p.update(h=rng.uniform(3.5, 5.0), r=0.06, col=C(60, 62, 66) * rng.uniform(0.8, 1.3))
            elif typ == 'bin':
                p.update(h=0.95, r=0.28, col=rng.choice([C(40, 90, 50), C(60, 60, 62), C(150, 120, 40)]))
            elif typ == 'bench':
                p.update(len=1.8, col=C(120, 85, 55) * rng.uniform(0.8, 1.2))
            elif typ == 'sign':
                p.update(w=rng.uniform(0.9, 1.3), h0=rng.uniform(0.6, 1.0), h1=2.1,
                         col=rng.choice([C(30, 80, 160), C(190, 190, 185), C(170, 40, 35), C(230, 200, 60)]))
            elif typ == 'tree':
                p.update(h=3.0, r=0.14, R=rng.uniform(1.0, 1.4), col=C(85, 65, 45),
                         blobs=[(rng.uniform(-.7, .7), rng.uniform(-.7, .7), rng.uniform(-.5, .6),
                                 rng.uniform(.25, .5), rng.uniform(.6, 1.25)) for _ in range(28)])
            elif typ == 'pillar':
                p.update(h=8.0, r=0.3, col=C(185, 180, 170))
            props.append(p)
    return props


def _cyl(cam, X, Y, z0, z1, r, col, img, idb, nstrip=7):
    ub, vb, zb = cam.project([X, Y, z0])
    ut, vt, zt = cam.project([X, Y, z1])
    if zb < 0.4 or zt < 0.4:
        return
    rb, rt = cam.f * r / zb, cam.f * r / zt
    rb, rt = max(rb, 0.7), max(rt, 0.7)
    for k in range(nstrip):
        a0, a1 = -1 + 2 * k / nstrip, -1 + 2 * (k + 1) / nstrip
        pts = np.array([[ub + a0 * rb, vb], [ub + a1 * rb, vb], [ut + a1 * rt, vt], [ut + a0 * rt, vt]])
        am = (a0 + a1) / 2
        shade = 0.55 + 0.5 * math.cos(am * 1.3) - 0.12 * am
        pi = np.round(pts * 8).astype(np.int32)
        cv2.fillPoly(img, [pi], (col * shade).tolist(), cv2.LINE_8, 3)
        cv2.fillPoly(idb, [pi], -1, cv2.LINE_8, 3)


def _box(cam, cx, cy, z0, L, Wd, Hh, ang, col, img, idb):
    ca, sa = math.cos(ang), math.sin(ang)
    ex, ey = np.array([ca, sa]) * L / 2, np.array([-sa, ca]) * Wd / 2
    base = np.array([cx, cy])
    corners = []
    for z in (z0, z0 + Hh):
        for sx_, sy_ in ((-1, -1), (1, -1), (1, 1), (-1, 1)):
            p = base + sx_ * ex + sy_ * ey
            corners.append([p[0], p[1], z])
    P = np.array(corners)
    u, v, z = cam.project(P)
    if (z < 0.4).any():
        return
    faces = [([0, 1, 2, 3], np.array([0, 0, -1.0]), 0.5), ([4, 5, 6, 7], np.array([0, 0, 1.0]), 1.1),
             ([0, 1, 5, 4], np.r_[-ey, 0], 0.8), ([2, 3, 7, 6], np.r_[ey, 0], 0.75),
             ([1, 2, 6, 5], np.r_[ex, 0], 0.9), ([3, 0, 4, 7], np.r_[-ex, 0], 0.65)]
    for idx, nrm, sh in faces:
        fc = P[idx].mean(0)
        if np.dot(nrm, fc - cam.C) >= 0:
            continue
        pts = np.round(np.stack([u[idx], v[idx]], 1) * 8).astype(np.int32)
        cv2.fillPoly(img, [pts], (col * sh).tolist(), cv2.LINE_8, 3)
        cv2.fillPoly(idb, [pts], -1, cv2.LINE_8, 3)


def draw_prop(p, cam, img, idb):
    t = p['type']
    X, Y = p['X'], p['Y']
    if t == 'pole':
        _cyl(cam, X, Y, 0, p['h'], p['r'], p['col'], img, idb)
        _cyl(cam, X, Y, 0, 0.4, p['r'] * 1.8, p['col'] * 0.9, img, idb)
        u, v, z = cam.project([X, Y, p['h']])
        if z > 0.4:
            rr = cam.f * 0.25 / z
            cv2.ellipse(img, (int(u), int(v)), (max(1, int(rr)), max(1, int(rr * 0.45))), 0, 0, 360,
                        (C(230, 230, 210)).tolist(), -1)
            cv2.ellipse(idb, (int(u), int(v)), (max(1, int(rr)), max(1, int(rr * 0.45))), 0, 0, 360, -1, -1)
    elif t == 'bin':
        _cyl(cam, X, Y, 0, p['h'], p['r'], p['col'], img, idb)
        _cyl(cam, X, Y, p['h'] - 0.06, p['h'], p['r'] * 1.05, p['col'] * 0.6, img, idb)
    elif t == 'pillar':
        _cyl(cam, X, Y, 0, p['h'], p['r'], p['col'], img, idb, nstrip=11)
    elif t == 'bench':
        a = p['ang']
        ca, sa = math.cos(a), math.sin(a)
        for off in (-0.75, 0.75):
            _box(cam, X + ca * off, Y + sa * off, 0, 0.08, 0.45, 0.42, a, p['col'] * 0.4, img, idb)
        _box(cam, X, Y, 0.42, p['len'], 0.48, 0.06, a, p['col'], img, idb)
        _box(cam, X - sa * 0.23, Y + ca * 0.23, 0.5, p['len'], 0.05, 0.4, a, p['col'] * 0.95, img, idb)
    elif t == 'sign':
        a = p['ang']
        ca, sa = math.cos(a), math.sin(a)
        for off in (-p['w'] / 2 + 0.05, p['w'] / 2 - 0.05):
            _cyl(cam, X + ca * off, Y + sa * off, 0, p['h0'] + 0.1, 0.03, C(90, 90, 95), img, idb, 3)
        _box(cam, X, Y, p['h0'], p['w'], 0.06, p['h1'] - p['h0'], a, p['col'], img, idb)
    elif t == 'tree':
        _cyl(cam, X, Y, 0, p['h'] + 0.8, p['r'], p['col'], img, idb)
        R = p['R']
        for (dx, dy, dz, rs, sh) in p['blobs']:
            u, v, z = cam.project([X + dx * R, Y + dy * R, p['h'] + R * (0.8 + dz)])
            if z < 0.5:
                continue
            rr = cam.f * R * rs / z
            col = C(55, 92, 40) * sh * (1.0 + 0.25 * dz)
            cv2.ellipse(img, (int(u), int(v)), (max(1, int(rr)), max(1, int(rr * 0.85))), 0, 0, 360,
                        col.tolist(), -1)
            cv2.ellipse(idb, (int(u), int(v)), (max(1, int(rr)), max(1, int(rr * 0.85))), 0, 0, 360, -1, -1)


def prop_footprint(p):
    t = p['type']
    if t in ('pole', 'bin', 'pillar'):
        return p['r'] * (1.8 if t == 'pole' else 1.0), p['h'] * (0.6 if t == 'pole' else 1.0)
    if t == 'bench':
        return 0.8, 0.9
    if t == 'sign':
        return 0.5, 2.1
    if t == 'tree':
        return p['R'] * 0.9, 4.5
    return 0.3, 1


def shadow_poly(cam, X, Y, rad, height, Lv, rad2=None):
    ang = np.linspace(0, 2 * np.pi, 14, endpoint=False)
    rad2 = rad if rad2 is None else rad2
    fp = np.stack([X + rad * np.cos(ang), Y + rad2 * np.sin(ang)], 1)
    fp2 = fp + np.array(Lv) * height
    P = np.concatenate([fp, fp2])
    P3 = np.concatenate([P, np.zeros((len(P), 1))], 1)
    u, v, z = cam.project(P3)
    if (z < 0.3).any():
        return None
    pts = np.stack([u, v], 1).astype(np.float32)
    hull = cv2.convexHull(pts)
    return np.round(hull * 8).astype(np.int32)


# ----------------------------------------------------------------------------- people
SKIN = [(255, 224, 196), (236, 196, 164), (214, 164, 124), (186, 134, 94), (146, 94, 56), (100, 64, 38)]
HAIR = [(22, 18, 15), (40, 28, 20), (80, 55, 32), (140, 100, 58), (196, 164, 108), (128, 124, 120),
        (205, 205, 205), (110, 42, 22)]
TOPS = [(190, 40, 40), (40, 70, 160), (235, 235, 230), (60, 130, 70), (230, 200, 60), (130, 130, 135),
        (30, 30, 35), (25, 35, 70), (200, 180, 150), (220, 130, 160), (230, 120, 40), (100, 50, 120),
        (70, 150, 190), (150, 30, 50), (90, 90, 60)]
PANTS = [(45, 60, 100), (60, 80, 130), (30, 30, 35), (110, 110, 115), (170, 150, 110), (80, 60, 45),
         (35, 40, 60), (200, 200, 195)]
DARK = [(24, 24, 28), (36, 33, 30), (28, 32, 46), (46, 38, 32), (52, 52, 55), (20, 22, 30), (40, 44, 40)]
BAGS = [(30, 30, 30), (120, 70, 40), (160, 30, 30), (40, 60, 120), (200, 190, 170), (60, 90, 60)]


def jit(rng, col, a=14):
    return np.clip(np.array(col, np.float32) + rng.uniform(-a, a, 3), 5, 250)


CH, CW, CS = 224, 160, 200.0  # cloth canvas size and px per body unit


def cloth_canvas(rng, col, kind, col2):
    yy, xx = np.mgrid[0:CH, 0:CW].astype(np.float32)
    img = np.empty((CH, CW, 3), np.float32)
    img[:] = col
    if kind == 'hstripe':
        p = rng.uniform(7, 16)
        m = (np.floor(yy / p) % 2) == 1
        img[m] = col2
    elif kind == 'vstripe':
        p = rng.uniform(5, 10)
        m = (np.floor(xx / p) % 2) == 1
        img[m] = col2
    elif kind == 'check':
        p = rng.uniform(8, 16)
        m1 = (np.floor(yy / p) % 2) == 1
        m2 = (np.floor(xx / p) % 2) == 1
        img = img * (1 - 0.5 * m1[..., None]) + np.asarray(col2) * 0.5 * m1[..., None]
        img = img * (1 - 0.5 * m2[..., None]) + np.asarray(col2) * 0.5 * m2[..., None]
    elif kind == 'camo':
        nz = vnoise((CH, CW), 18, rng, 2)
        img[nz > 0.4] = col2
        img[nz < -0.6] = np.asarray(col) * 0.6
    elif kind == 'print':
        m = (yy > CH - 0.77 * CS) & (yy < CH - 0.64 * CS) & (np.abs(xx - CW / 2) < 0.06 * CS)
        img[m] = col2
    elif kind == 'twotone':
        m = yy < CH - 0.70 * CS
        img[m] = col2
    elif kind == 'denim':
        img *= (1 + 0.06 * np.sin((xx + yy) * 1.7))[..., None]
    fold = vnoise((CH, CW), 25, rng, 3)
    fine = vnoise((CH, CW), 2, rng, 1)
    img *= (1 + 0.08 * fold + 0.05 * fine)[..., None]
    img = np.clip(img, 0, 255).astype(np.float32)
    pyr = [img]
    for _ in range(3):
        pyr.append(cv2.pyrDown(pyr[-1]))
    return pyr


def make_appearance(rng, cfg, force_dark=False):
    a = {}
    a['H'] = float(np.clip(rng.normal(1.74, 0.08), 1.52, 1.96))
    a['build'] = float(rng.uniform(0.9, 1.15))
    a['skin'] = jit(rng, SKIN[rng.integers(len(SKIN))], 8)
    a['hair'] = jit(rng, HAIR[rng.integers(len(HAIR))], 8)
    a['hairstyle'] = rng.choice(['short', 'short', 'long', 'bald', 'cap'], p=[.35, .15, .3, .08, .12])
    a['hat'] = jit(rng, TOPS[rng.integers(len(TOPS))])
    dark = force_dark or rng.random() < cfg['dark']
    if dark:
        a['top'] = jit(rng, DARK[rng.integers(len(DARK))], 6)
        a['top2'] = a['top'] * 0.8
        a['topkind'] = rng.choice(['solid', 'solid', 'camo', 'twotone'], p=[.6, .2, .1, .1])
        a['coat'] = rng.random() < 0.7
        a['lower'] = jit(rng, DARK[rng.integers(len(DARK))], 6)
        a['lowkind'] = 'solid'
    else:
        a['top'] = jit(rng, TOPS[rng.integers(len(TOPS))])
        a['top2'] = jit(rng, TOPS[rng.integers(len(TOPS))])
        a['topkind'] = rng.choice(['solid', 'hstripe', 'vstripe', 'check', 'camo', 'print', 'twotone'],
                                  p=[.35, .15, .07, .12, .08, .13, .10])
        a['coat'] = rng.random() < 0.12
        a['lower'] = jit(rng, PANTS[rng.integers(len(PANTS))])
        a['lowkind'] = rng.choice(['solid', 'denim', 'check'], p=[.5, .42, .08])
    a['skirt'] = (not a['coat']) and rng.random() < 0.12
    a['sleeve'] = 'long' if (dark or rng.random() < 0.6) else 'short'
    a['shoes'] = jit(rng, rng.choice([(25, 25, 25), (220, 220, 220), (90, 60, 40), (40, 40, 90)]), 6)
    a['bag'] = rng.choice(['none', 'backpack', 'shoulder', 'hand'], p=[.5, .22, .16, .12])
    a['bagcol'] = jit(rng, BAGS[rng.integers(len(BAGS))])
    a['dark'] = dark
    return a


def finalize_appearance(a, rng):
    a['up'] = cloth_canvas(rng, a['top'], a['topkind'], a['top2'])
    a['lo'] = cloth_canvas(rng, a['lower'], a['lowkind'],
                           a['lower'] * 0.7 if a['lowkind'] != 'check' else a['top2'])
    tab = np.zeros((20, 3), np.float32)
    tab[1] = a['skin']; tab[2] = a['hair']; tab[3] = a['top']; tab[4] = a['lower']
    tab[5] = a['shoes']; tab[6] = a['bagcol']; tab[7] = a['hat']; tab[8] = a['bagcol'] * 0.6
    tab[9] = a['skin'] * 0.85
    for k in range(1, 10):
        tab[10 + k] = tab[k] * 0.72
    a['tab'] = tab
    return a


def lookalike(a, rng):
    b = dict(a)
    for k in ('top', 'top2', 'lower', 'shoes', 'bagcol'):
        b[k] = np.clip(a[k] + rng.uniform(-6, 6, 3), 5, 250)
    b['H'] = float(np.clip(a['H'] + rng.normal(0, 0.03), 1.5, 1.98))
    b['skin'] = jit(rng, SKIN[rng.integers(len(SKIN))], 6) if rng.random() < 0.5 else a['skin']
    if rng.random() < 0.5:
        b['bag'] = rng.choice(['none', 'backpack', 'shoulder'])
    if rng.random() < 0.4:
        b['hairstyle'] = rng.choice(['short', 'long', 'bald', 'cap'])
    return b


def ell(cx, cy, ax, ay, n=18):
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return np.stack([cx + ax * np.cos(t), cy + ay * np.sin(t)], 1)


def limb(p0, p1, w0, w1):
    d = p1 - p0
    L = np.hypot(*d) + 1e-6
    n = np.array([-d[1], d[0]]) / L
    return np.array([p0 + n * w0 / 2, p1 + n * w1 / 2, p1 - n * w1 / 2, p0 - n * w0 / 2])


def figure_ops(app, phi, amp, lat, fac):
    """Body-unit polygons (x right, y up, feet at y=0, height 1). Returns list of (label, pts)."""
    a = min(1.0, abs(lat))
    dr = 1.0 if lat >= 0 else -1.0
    bw = app['build']
    sw = (0.118 * (1 - a) + 0.07 * a) * bw
    hw = (0.09 * (1 - a) + 0.068 * a) * bw
    Al = 0.42 * amp
    legs, arms = [], []
    for i, sg in ((0, -1.0), (1, 1.0)):
        ph = phi + i * math.pi
        al = Al * math.sin(ph)
        kn = (0.06 + 0.55 * max(0.0, math.cos(ph))) * min(amp, 1.4) + 0.03
        hip = np.array([sg * hw * 0.55 * (1 - 0.7 * a), 0.50])
        knee = hip + np.array([a * dr * 0.255 * math.sin(al), -0.255 * math.cos(al)])
        foot = knee + np.array([a * dr * 0.255 * math.sin(al - kn), -0.255 * math.cos(al - kn)])
        legs.append((hip, knee, foot))
        be = -0.85 * al
        fl = 0.2 + 0.25 * amp
        shp = np.array([sg * (sw - 0.012) * (1 - a), 0.80])
        elb = shp + np.array([a * dr * 0.165 * math.sin(be) + sg * 0.012 * (1 - a), -0.165 * math.cos(be)])
        hand = elb + np.array([a * dr * 0.15 * math.sin(be + fl) + sg * 0.008 * (1 - a),
                               -0.15 * math.cos(be + fl)])
        arms.append((shp, elb, hand))
    ymin = min(l[2][1] for l in legs) - 0.018
    lean = dr * a * 0.03 * min(amp, 1.5)
    off = np.array([0.0, -ymin])
    legs = [tuple(p + off for p in l) for l in legs]
    arms = [tuple(p + off + np.array([lean, 0]) for p in l) for l in arms]
    top = off[1]
    ops = []
    side = a > 0.45
    far_i = 0 if dr > 0 else 1  # in side view leg/arm 0 is the far one when walking right
    lowL = 4 if not app['skirt'] else 1

    def leg_ops(l, dk):
        hip, knee, foot = l
        r = [(lowL + dk, limb(hip, knee, 0.088, 0.07)), (lowL + dk, ell(knee[0], knee[1], 0.035, 0.035, 10)),
             ((lowL if not app['skirt'] else 1) + dk, limb(knee, foot, 0.068, 0.052)),
             (5 + dk, ell(foot[0] + dr * a * 0.028, foot[1] + 0.012, 0.032 + 0.022 * a, 0.019, 12))]
        return r

    def arm_ops(l, dk):
        shp, elb, hand = l
        r = [(3 + dk, limb(shp, elb, 0.058, 0.048)), (3 + dk, ell(elb[0], elb[1], 0.024, 0.024, 8)),
             ((3 if app['sleeve'] == 'long' else 1) + dk, limb(elb, hand, 0.046, 0.038)),
             (1 + dk, ell(hand[0], hand[1] - 0.015, 0.022, 0.026, 10))]
        return r

    def bag_back():
        x = -dr * a * (hw + 0.06) + lean
        return [(6, np.array([[x - 0.075 * (1 - a * 0.5), 0.56 + top], [x + 0.075 * (1 - a * 0.5), 0.56 + top],
                              [x + 0.07 * (1 - a * 0.5), 0.79 + top], [x - 0.07 * (1 - a * 0.5), 0.79 + top]]))]

    torso = np.array([[-sw, 0.815], [sw, 0.815], [sw * 0.97, 0.72], [hw * 1.06, 0.56], [hw, 0.47],
                      [-hw, 0.47], [-hw * 1.06, 0.56], [-sw * 0.97, 0.72]])
    torso[:, 0] += lean * (torso[:, 1] - 0.47) / 0.35
    torso[:, 1] += top
    coat = None
    if app['coat']:
        coat = np.array([[-sw, 0.815], [sw, 0.815], [hw * 1.25, 0.45], [hw * 1.35, 0.26], [-hw * 1.35, 0.26],
                         [-hw * 1.25, 0.45]])
        coat[:, 0] += lean * (coat[:, 1] - 0.47) / 0.35
        coat[:, 1] += top
    skirt = None
    if app['skirt']:
        skirt = np.array([[-hw, 0.50], [hw, 0.50], [hw * 1.5, 0.30], [-hw * 1.5, 0.30]])
        skirt[:, 1] += top
    hx = lean * 1.25 + dr * a * 0.008
    hy = 0.925 + top
    haxx = 0.054 * (1 - 0.06 * a)
    # back layer
    if app['bag'] == 'backpack' and fac < -0.3 and not side:
        ops += bag_back()
    if side:
        ops += arm_ops(arms[far_i], 10)
        ops += leg_ops(legs[far_i], 10)
    if app['hairstyle'] == 'long' and fac < 0.3:
        ops.append((2, np.array([[hx - 0.06, hy + 0.02], [hx + 0.06, hy + 0.02], [hx + 0.065, hy - 0.15],
                                 [hx - 0.065, hy - 0.15]])))
    for i in range(2):
        if side and i == far_i:
            continue
        ops += leg_ops(legs[i], 0)
    if skirt is not None:
        ops.append((4, skirt))
    ops.append((3, torso))
    if coat is not None:
        ops.append((3, coat))
    if app['bag'] == 'backpack' and (side or fac >= -0.3):
        ops += bag_back()
    if app['bag'] == 'shoulder':
        ops.append((8, limb(np.array([-sw * 0.8 + lean, 0.8 + top]), np.array([sw * 0.9, 0.52 + top]), 0.015, 0.015)))
    ops.append((1, limb(np.array([hx * 0.6, 0.80 + top]), np.array([hx * 0.8, 0.87 + top]), 0.045, 0.042)))
    # head
    hs = app['hairstyle']
    if fac > 0.35 and hs != 'bald':
        ops.append((2, ell(hx, hy, haxx, 0.064)))
    else:
        if hs == 'bald':
            ops.append((1, ell(hx, hy, haxx, 0.064)))
        else:
            ops.append((2, ell(hx - dr * a * 0.008, hy + 0.006, haxx * 1.04, 0.064)))
            ops.append((1, ell(hx + dr * a * 0.014, hy - 0.014 - (0.006 if hs == 'short' else 0),
                               haxx * (0.86 - 0.25 * a), 0.05)))
            if fac < -0.35 and hs != 'cap':
                ops.append((9, np.array([[hx - 0.03, hy - 0.002], [hx + 0.03, hy - 0.002], [hx + 0.03, hy - 0.012],
                                         [hx - 0.03, hy - 0.012]])))
    if hs == 'cap':
        ops.append((7, ell(hx, hy + 0.03, haxx * 1.08, 0.038)))
        ops.append((7, np.array([[hx - 0.005, hy + 0.02], [hx + dr * a * 0.09 + (1 - a) * 0.06, hy + 0.015],
                                 [hx + dr * a * 0.09 + (1 - a) * 0.06, hy + 0.005], [hx - 0.005, hy + 0.008]])))
    # front arms
    for i in range(2):
        if side and i == far_i:
            continue
        ops += arm_ops(arms[i], 0)
    if app['bag'] == 'shoulder':
        bx = sw * 0.95 + lean
        ops.append((6, np.array([[bx - 0.06, 0.44 + top], [bx + 0.06, 0.44 + top], [bx + 0.06, 0.56 + top],
                                 [bx - 0.06, 0.56 + top]])))
    if app['bag'] == 'hand':
        hnd = arms[1 - far_i][2] if side else arms[1][2]
        ops.append((8, limb(hnd, hnd - np.array([0, 0.05]), 0.01, 0.01)))
        ops.append((6, np.array([[hnd[0] - 0.05, hnd[1] - 0.05], [hnd[0] + 0.05, hnd[1] - 0.05],
                                 [hnd[0] + 0.055, hnd[1] - 0.17], [hnd[0] - 0.055, hnd[1] - 0.17]])))
    return ops


def render_person(app, st, cam):
    X, Y = st['X'], st['Y']
    uf, vf, zf = cam.project([X, Y, 0.0])
    uh, vh, zh = cam.project([X, Y, app['H']])
    if zf < 0.6:
        return None
    Hp = vf - vh
    if Hp < 5:
        return None
    sx = (uh - uf) / Hp
    # facing relative to camera
    w = np.array([X - cam.C[0], Y - cam.C[1]])
    w /= (np.linalg.norm(w) + 1e-9)
    hv = st['hd']
    fac = float(hv @ w)
    lat = float(hv @ np.array([w[1], -w[0]]))
    ops = figure_ops(app, st['phi'], st['amp'], lat, fac)
    allp = np.concatenate([p for _, p in ops])
    U = uf + Hp * (allp[:, 0] + sx * allp[:, 1])
    V = vf - Hp * allp[:, 1]
    x0, y0 = int(math.floor(U.min())) - 2, int(math.floor(V.min())) - 2
    x1, y1 = int(math.ceil(U.max())) + 2, int(math.ceil(V.max())) + 2
    if x1 <= 0 or y1 <= 0 or x0 >= cam.W or y0 >= cam.H:
        return None
    pw, ph = x1 - x0, y1 - y0
    lab = np.zeros((ph, pw), np.uint8)
    bb = [1e9, 1e9, -1e9, -1e9]
    for L, p in ops:
        u = uf + Hp * (p[:, 0] + sx * p[:, 1]) - x0
        v = vf - Hp * p[:, 1] - y0
        cv2.fillPoly(lab, [np.round(np.stack([u, v], 1) * 8).astype(np.int32)], int(L), cv2.LINE_8, 3)
        if L % 10 not in (6, 8):
            bb = [min(bb[0], u.min()), min(bb[1], v.min()), max(bb[2], u.max()), max(bb[3], v.max())]
    mask = lab > 0
    if not mask.any():
        return None
    tab = app['tab']
    col = tab[lab]
    k = int(np.clip(math.floor(math.log2(1.3 * CS / max(Hp, 1.0))), 0, 3))
    cs = CS / 2 ** k
    pyr_up, pyr_lo = app['up'][k], app['lo'][k]
    chk, cwk = pyr_up.shape[:2]
    s = Hp / cs
    M = np.array([[s, -sx * s, uf - x0 - Hp * (cwk / 2) / cs + sx * Hp * chk / cs],
                  [0, s, vf - y0 - Hp * chk / cs]], np.float32)
    l10 = lab % 10
    dk = np.where(lab > 10, 0.72, 1.0).astype(np.float32)
    mu = l10 == 3
    if mu.any():
        up = cv2.warpAffine(pyr_up, M, (pw, ph), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        col[mu] = up[mu] * dk[mu][:, None]
    ml = l10 == 4
    if ml.any():
        lo = cv2.warpAffine(pyr_lo, M, (pw, ph), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        col[ml] = lo[ml] * dk[ml][:, None]
    # shading: cylinder-ish across body axis, light from one side, darker lower
    vv = np.arange(ph, dtype=np.float32)[:, None]
    uu = np.arange(pw, dtype=np.float32)[None, :]
    by = (vf - y0 - vv) / Hp
    uc = uf - x0 + sx * Hp * by
    xr = (uu - uc) / (0.17 * Hp)
    shade = np.clip(1.0 - 0.22 * xr ** 2, 0.7, 1.0) + 0.06 * np.clip(xr, -1, 1) * st['lsign']
    shade = shade * (0.88 + 0.16 * np.clip(by, 0, 1))
    col *= shade[..., None]
    alpha = mask.astype(np.float32)
    if Hp > 30:
        alpha = np.minimum(alpha, cv2.GaussianBlur(alpha, (3, 3), 0.7) * 1.6)
    box = (bb[0] + x0, bb[1] + y0, bb[2] + x0, bb[3] + y0)
    return dict(x0=x0, y0=y0, col=col, alpha=alpha, mask=mask, box=box, Hp=Hp, z=zf)


# ----------------------------------------------------------------------------- motion
class Sched:
    def __init__(s, cfg, cams, rng, props=()):
        s.cfg, s.cams, s.rng = cfg, cams, rng
        rad = dict(pole=0.55, bin=0.75, pillar=0.95, tree=0.6, bench=1.35, sign=0.95)
        s.obst = [(p['X'], p['Y'], rad[p['type']]) for p in props]
        step = max(1, len(cams) // 8)
        s.samp = cams[::step] + [cams[-1]]
        s.fps = cfg['fps']
        s.N = cfg['N']

    def outside_all(s, X, Y):
        return all(c.outside(X, Y) for c in s.samp)

    def edge_point(self, edge, cams):
        rng, cfg = self.rng, self.cfg
        for _ in range(400):
            c = cams[rng.integers(len(cams))]
            W, H = c.W, c.H
            if edge in ('left', 'right'):
                u = 0.5 if edge == 'left' else W - 0.5
                v = self.row_for_depth(c, u, math.exp(rng.uniform(math.log(cfg['ymin']), math.log(cfg['ymax']))))
                if v is None:
                    continue
            elif edge == 'bottom':
                u, v = rng.uniform(0.05, 0.95) * W, H - 0.5
            else:
                u, v = rng.uniform(0.05, 0.95) * W, 0.5
            G = c.ground_point(u, v)
            if G is None:
                continue
            if edge in ('left', 'right') and not (cfg['ymin'] <= G[1] <= cfg['ymax']):
                continue
            if edge == 'top' and G[1] > cfg['wall'] - 1.0:
                continue
            if edge == 'bottom' and G[1] < 2.0:
                continue
            if edge == 'left':
                d = -c.r[:2]
            elif edge == 'right':
                d = c.r[:2]
            elif edge == 'top':
                d = c.fwd2
            else:
                d = -c.fwd2
            P = G[:2].copy()
            for _k in range(300):
                if all(cc.outside(P[0], P[1]) for cc in cams):
                    break
                P = P + d * 0.25
            return P + d * 0.8, G[:2]
        raise RuntimeError('no edge point')

    @staticmethod
    def row_for_depth(c, u, Yt):
        vs = np.linspace(0, c.H - 1, 120)
        ys = []
        for v in vs:
            G = c.ground_point(u, v)
            ys.append(G[1] if G is not None else np.nan)
        ys = np.array(ys)
        ok = np.isfinite(ys)
        if not ok.any() or Yt > np.nanmax(ys) or Yt < np.nanmin(ys):
            return None
        o = np.argsort(ys[ok])
        return float(np.interp(Yt, ys[ok][o], vs[ok][o]))

    def interior_point(self):
        rng, cfg = self.rng, self.cfg
        for _ in range(400):
            c = self.samp[rng.integers(len(self.samp))]
            u = rng.uniform(0.1, 0.9) * c.W
            v = self.row_for_depth(c, u, math.exp(rng.uniform(math.log(cfg['ymin']), math.log(cfg['ymax']))))
            if v is None:
                continue
            G = c.ground_point(u, v)
            if G is None or not (cfg['ymin'] <= G[1] <= cfg['ymax']):
                continue
            if any(math.hypot(G[0] - ox, G[1] - oy) < r + 0.5 for ox, oy, r in self.obst):
                continue
            return G[:2]
        raise RuntimeError('no interior point')

    def pick_edge(self, exclude=None):
        e = self.cfg['edges']
        names = [k for k in e if k != exclude] or list(e)
        p = np.array([e[k] for k in names])
        return names[self.rng.choice(len(names), p=p / p.sum())]

    def make_path(self, t0):
        rng, cfg = self.rng, self.cfg
        ea = self.pick_edge()
        if cfg.get('crossing') and rng.random() < 0.85:
            eb = {'left': 'right', 'right': 'left', 'top': 'bottom', 'bottom': 'top'}[ea]
        else:
            eb = self.pick_edge(exclude=ea if rng.random() < 0.85 else None)
        A, Ain = self.edge_point(ea, [self.cams[t0]])
        B, Bin = self.edge_point(eb, self.samp)
        nw = rng.choice([0, 1, 2], p=[0.3, 0.5, 0.2])
        if cfg.get('crossing'):
            nw = rng.choice([0, 1], p=[0.5, 0.5])
        wps = [self.interior_point() for _ in range(nw)]
        pts = [A, Ain] + wps + [Bin, B]
        if nw == 0 and ea == eb:
            pts = [A, Ain, self.interior_point(), Bin, B]
        return pts, len(wps) > 0 or ea == eb

    def avoid(self, P):
        for _ in range(2):
            for ox, oy, r in self.obst:
                d = P - np.array([ox, oy])
                n = np.linalg.norm(d, axis=1)
                m = n < r
                if m.any():
                    P[m] = np.array([ox, oy]) + d[m] / np.maximum(n[m], 1e-6)[:, None] * r
            P = np.stack([gaussian_filter1d(P[:, 0], 3, mode='nearest'),
                          gaussian_filter1d(P[:, 1], 3, mode='nearest')], 1)
        return P

    @staticmethod
    def densify(pts, step=0.1, smooth=1.2):
        out = [pts[0]]
        for a, b in zip(pts[:-1], pts[1:]):
            L = np.linalg.norm(b - a)
            n = max(1, int(L / step))
            for k in range(1, n + 1):
                out.append(a + (b - a) * k / n)
        P = np.array(out)
        P = np.stack([gaussian_filter1d(P[:, 0], smooth / step, mode='nearest'),
                      gaussian_filter1d(P[:, 1], smooth / step, mode='nearest')], 1)
        seg = np.linalg.norm(np.diff(P, axis=0), axis=1)
        s = np.concatenate([[0], np.cumsum(seg)])
        return P, s

    @staticmethod
    def interp(P, s, q):
        q = np.clip(q, 0, s[-1])
        return np.stack([np.interp(q, s, P[:, 0]), np.interp(q, s, P[:, 1])], -1)

    def spawn(self, t0, initial=False):
        rng, cfg = self.rng, self.cfg
        pts, has_wp = self.make_path(t0)
        P, s = self.densify(pts)
        P = self.avoid(P)
        s = np.concatenate([[0], np.cumsum(np.linalg.norm(np.diff(P, axis=0), axis=1))])
        Ltot = s[-1]
        gsize = rng.choice([1, 2, 3], p=[0.62, 0.3, 0.08])
        runner = rng.random() < cfg['runners'] and gsize == 1
        speed = float(np.clip(rng.normal(1.3, 0.22), 0.6, 1.9)) if not runner else float(rng.uniform(2.6, 3.8))
        if gsize > 1:
            speed = min(speed, 1.35)
        stops = []
        if not runner and rng.random() < 0.35:
            sa = float(rng.uniform(0.3, 0.7)) * Ltot
            if has_wp and len(pts) > 4:
                wp = pts[2]
                sa = float(s[np.argmin(np.linalg.norm(P - wp, axis=1))])
            dur = rng.uniform(1.5, 8.0) if rng.random() < 0.8 else rng.uniform(12, 40)
            stops.append((sa, int(dur * self.fps), rng.random() < 0.5))
        s0 = 0.0
        if initial:
            for _ in range(60):
                s0 = float(rng.uniform(0.05, 0.95) * Ltot)
                q = self.interp(P, s, s0)
                if self.cams[0].inside_center(q[0], q[1]):
                    break
        # leader arc-length simulation
        dt = 1.0 / self.fps
        sv, vv, stp = [], [], []
        cur, v = s0, speed
        k = 0
        left = 0
        wob = rng.uniform(0, 6.28)
        stops = [x for x in stops if x[0] > s0]
        t = t0
        while t < self.N:
            sv.append(cur); stp.append(left > 0)
            if left > 0:
                vt = 0.0
                left -= 1
            else:
                vt = speed * (1 + 0.06 * math.sin(0.9 * t * dt + wob))
                if k < len(stops) and cur >= stops[k][0]:
                    left = stops[k][1]
                    k += 1
            v += (vt - v) * min(1.0, dt / 0.35)
            vv.append(v)
            cur += v * dt
            t += 1
            if cur >= Ltot:
                break
        sv = np.array(sv)
        members = []
        offs = {1: [(0.0, 0.0)], 2: [(-0.33, 0.0), (0.33, 0.0)], 3: [(-0.62, 0.0), (0.0, 0.15), (0.62, 0.0)]}[gsize]
        if gsize == 3 and rng.random() < 0.5:
            offs = [(-0.33, 0.0), (0.33, 0.0), (0.0, -1.0)]
        tang = np.gradient(P, axis=0)
        tang /= (np.linalg.norm(tang, axis=1, keepdims=True) + 1e-9)
        nrm = np.stack([-tang[:, 1], tang[:, 0]], 1)
        for lo_, along in offs:
            Pm = P + nrm * lo_
            segm = np.linalg.norm(np.diff(Pm, axis=0), axis=1)
            sm = np.concatenate([[0], np.cumsum(segm)])
            q = sv * sm[-1] / Ltot + along
            q = np.clip(q, 0, sm[-1])
            XY = self.interp(Pm, sm, q)
            members.append(XY)
        return dict(t0=t0, members=members, stopped=np.array(stp), runner=runner, gsize=gsize,
                    look=[x[2] for x in stops])

    def run(self):
        rng, cfg = self.rng, self.cfg
        groups = []
        ntgt_phase = rng.uniform(0, 6.28)

        def count(t):
            c = 0
            cam = self.cams[t]
            for g in groups:
                i = t - g['t0']
                for XY in g['members']:
                    if 0 <= i < len(XY) and not cam.outside(XY[i, 0], XY[i, 1]):
                        c += 1
            return c

        for t in range(self.N):
            tgt = cfg['n'] * (1 + 0.15 * math.sin(2 * math.pi * t / self.N * 1.5 + ntgt_phase))
            if t == 0:
                tries = 0
                while count(0) < 0.8 * tgt and tries < 200:
                    groups.append(self.spawn(0, initial=True))
                    tries += 1
            else:
                c = count(t)
                rate = 0.25 + 0.6 * max(0.0, tgt - c)
                if c < tgt + 1.0 and rng.random() < 1 - math.exp(-rate / self.fps):
                    groups.append(self.spawn(t))
        return groups


def build_tracks(groups, cfg, rng):
    """Expand groups into per-person per-frame states."""
    people = []
    fps = cfg['fps']
    for g in groups:
        n = len(g['members'])
        apps = []
        for j in range(n):
            if j > 0 and rng.random() < 0.25:
                apps.append(lookalike(apps[0], rng))
            else:
                apps.append(make_appearance(rng, cfg))
        for j, XY in enumerate(g['members']):
            T = len(XY)
            if T < 2:
                continue
            app = apps[j]
            vel = np.gradient(XY, axis=0) * fps if T > 1 else np.zeros_like(XY)
            spd = np.linalg.norm(vel, axis=1)
            hd = np.zeros_like(XY)
            cur = vel[0] / (spd[0] + 1e-9) if spd[0] > 0.05 else np.array([1.0, 0.0])
            look = None
            phi = rng.uniform(0, 6.28)
            phis, amps = np.zeros(T), np.zeros(T)
            cyc = (1.35 if g['runner'] else 0.82) * app['H']
            for i in range(T):
                if spd[i] > 0.15:
                    tgt = vel[i] / spd[i]
                    look = None
                elif g['stopped'][i] and g['look'] and g['look'][0]:
                    if n > 1:
                        other = g['members'][(j + 1) % n]
                        d = other[min(i, len(other) - 1)] - XY[i]
                        tgt = d / (np.linalg.norm(d) + 1e-9)
                    else:
                        if look is None:
                            a = rng.uniform(-2.5, 2.5)
                            look = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]]) @ cur
                        tgt = look
                else:
                    tgt = cur
                # rate-limited turn
                ang = math.atan2(cur[0] * tgt[1] - cur[1] * tgt[0], cur @ tgt)
                mx = 3.5 / fps
                ang = max(-mx, min(mx, ang))
                c_, s_ = math.cos(ang), math.sin(ang)
                cur = np.array([c_ * cur[0] - s_ * cur[1], s_ * cur[0] + c_ * cur[1]])
                hd[i] = cur
                phi += 2 * math.pi * spd[i] / fps / cyc
                phis[i] = phi
                amps[i] = (min(spd[i] / 1.25, 1.1) ** 0.6) * (1.5 if g['runner'] else 1.0)
            people.append(dict(t0=g['t0'], XY=XY, hd=hd, phi=phis, amp=amps, app=app))
    # extra look-alikes across the whole population (similar dark clothes)
    dark = [p for p in people if p['app']['dark']]
    plain = [p for p in people if not p['app']['dark']]
    nla = max(2, len(people) // 10)
    for k in range(min(nla, len(plain))):
        src = dark[k % len(dark)]['app'] if dark else make_appearance(rng, cfg, force_dark=True)
        if not dark:
            dark.append(dict(app=src))
        tgt = plain[int(rng.integers(len(plain)))]
        tgt['app'] = lookalike(src, rng)
    for p in people:
        p['app'] = finalize_appearance(dict(p['app']), rng)
    return people


# ----------------------------------------------------------------------------- detector
def calibrate(cal, L):
    if cal == 'cnn':
        return 1 / (1 + math.exp(-L))
    if cal == 'cnn_fp':
        return 1 / (1 + math.exp(-(0.9 * L + 0.2)))
    if cal == 'cnn2':
        return 1 / (1 + math.exp(-(1.3 * L - 0.3)))
    if cal == 'dpm':
        return min(3.2, 0.75 * L - 0.35)
    if cal == 'flat':
        return 0.25 + 0.55 / (1 + math.exp(-0.7 * L))
    if cal == 'over':
        return 1 / (1 + math.exp(-(2.2 * L + 0.8)))
    raise ValueError(cal)


SCORE_MIN = dict(cnn=0.05, cnn_fp=0.05, cnn2=0.05, dpm=-1.0, flat=0.0, over=0.05)


def iou(a, b):
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    I = ix * iy
    U = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - I
    return I / U if U > 0 else 0


class Detector:
    def __init__(s, cfg, rng):
        s.cfg, s.rng = cfg, rng
        s.burst = {}
        s.bias = {}
        s.propstate = {}
        s.cal = cfg['cal']
        s.fp_logit = -0.6 if cfg['cal'] == 'cnn_fp' else -1.2

    def jitter(s, b, pid):
        rng = s.rng
        x0, y0, x1, y1 = b
        w, h = x1 - x0, y1 - y0
        bs = s.bias.setdefault(pid, (rng.normal(1, 0.03), rng.normal(1, 0.03), rng.normal(0, 0.015)))
        cx = (x0 + x1) / 2 + w * (rng.normal(0, 0.03) + bs[2])
        cy = (y0 + y1) / 2 + h * rng.normal(0, 0.022)
        w *= bs[0] * (1 + float(np.clip(rng.normal(0, 0.04), -0.08, 0.08)))
        h *= bs[1] * (1 + float(np.clip(rng.normal(0, 0.035), -0.08, 0.08)))
        return [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2]

    def clip(s, b):
        W, H = s.cfg['W'], s.cfg['H']
        return [max(0.0, b[0]), max(0.0, b[1]), min(W - 1.0, b[2]), min(H - 1.0, b[3])]

    def frame(s, objs, props, cam):
        rng, cfg = s.rng, s.cfg
        dets = []
        W, H = cfg['W'], cfg['H']
        merged = set()
        # merged boxes for strongly overlapping pairs
        for i in range(len(objs)):
            for j in range(i + 1, len(objs)):
                a, b = objs[i], objs[j]
                if a['vis'] > 0.3 and b['vis'] > 0.3 and iou(a['box'], b['box']) > 0.3 and rng.random() < 0.06:
                    u = [min(a['box'][0], b['box'][0]), min(a['box'][1], b['box'][1]),
                         max(a['box'][2], b['box'][2]), max(a['box'][3], b['box'][3])]
                    dets.append((s.clip(s.jitter(u, -1)), rng.normal(0.8, 0.8)))
                    merged.add(a['pid'])
        for o in objs:
            pid = o['pid']
            st = s.burst.get(pid, 0)
            if st > 0:
                s.burst[pid] = st - 1
            elif rng.random() < cfg['burst']:
                s.burst[pid] = int(rng.integers(3, 11))
            vis = o['vis']
            if vis <= 0.02 or pid in merged:
                continue
            sz = float(np.clip((o['Hp'] - 15) / 45.0, 0, 1))
            p = cfg['pmax'] / (1 + math.exp(-(vis - 0.42) / 0.07)) * (0.65 + 0.35 * sz)
            if s.burst.get(pid, 0) > 0:
                p *= 0.08
            if rng.random() > p:
                continue
            full = s.clip(o['box'])
            vb = o['vbox']
            if vis < 0.85 and vb is not None:
                t = rng.uniform(0.2, 0.95)
                full = [full[k] * (1 - t) + vb[k] * t for k in range(4)]
            b = s.clip(s.jitter(full, pid))
            L = 2.2 + 2.5 * (vis - 0.7) + 1.2 * (sz - 0.5) + rng.normal(0, 0.7) + s.bias[pid][2] * 20
            dets.append((b, L))
            if rng.random() < cfg['dup']:
                w, h = b[2] - b[0], b[3] - b[1]
                d2 = [b[0] + w * rng.normal(0, 0.12), b[1] + h * rng.normal(0, 0.08),
                      b[2] + w * rng.normal(0, 0.15), b[3] + h * rng.normal(0, 0.1)]
                dets.append((s.clip(d2), L - 1.5 - abs(rng.normal(0, 1))))
            if rng.random() < 0.01:
                h = b[3] - b[1]
                dets.append((s.clip([b[0], b[1], b[2], b[1] + h * 0.5]), L - 2.5))
        # false positives: props (persistent), background (random)
        for k, pr in enumerate(props):
            on = s.propstate.get(k, 0)
            if on > 0:
                s.propstate[k] = on - 1
            elif rng.random() < pr['fp'] * 0.1:
                s.propstate[k] = int(rng.integers(3, 40))
            if s.propstate.get(k, 0) > 0 or rng.random() < pr['fp'] * 0.05:
                bx = cam.person_box(pr['X'], pr['Y'], 1.75)
                if bx is None:
                    continue
                u0, v0, u1, v1 = bx
                cxp = (u0 + u1) / 2
                h = (v1 - v0) * rng.uniform(0.9, 1.1)
                w = h * 0.4
                b = s.clip(s.jitter([cxp - w / 2, v1 - h, cxp + w / 2, v1], 10000 + k))
                if b[2] - b[0] > 3 and b[3] - b[1] > 6:
                    dets.append((b, s.fp_logit + 0.8 + rng.normal(0, 0.8)))
        nfp = rng.poisson(cfg['fp_bg'])
        for _ in range(nfp):
            u, v = rng.uniform(0, W), rng.uniform(0.15 * H, H)
            G = cam.ground_point(u, v)
            if G is None or G[1] > cfg['wall']:
                continue
            bx = cam.person_box(G[0], G[1], rng.uniform(0.8, 1.9))
            if bx is None:
                continue
            h = bx[3] - bx[1]
            w = h * rng.uniform(0.3, 0.55)
            b = s.clip([u - w / 2, v - h, u + w / 2, v])
            if b[2] - b[0] > 3 and b[3] - b[1] > 6:
                dets.append((b, s.fp_logit + rng.normal(0, 1.0)))
        out = []
        for b, L in dets:
            sc = calibrate(s.cal, L)
            if sc < SCORE_MIN[s.cal]:
                continue
            if b[2] - b[0] < 2 or b[3] - b[1] < 4:
                continue
            out.append((b, sc))
        rng.shuffle(out)
        return out


# ----------------------------------------------------------------------------- main loop
def make_cams(cfg):
    cams = []
    y0, y1 = cfg.get('yaw', (0.0, 0.0))
    for t in range(cfg['N']):
        x = t / max(1, cfg['N'] - 1)
        sm = x * x * (3 - 2 * x)
        cams.append(Camera(cfg['W'], cfg['H'], cfg['f'], cfg['h'], cfg['tilt'], y0 + (y1 - y0) * sm))
    return cams


def gen_sequence(cfg, out_dir):
    name = cfg['name']
    root = os.path.join(out_dir, name)
    os.makedirs(os.path.join(root, 'img1'), exist_ok=True)
    os.makedirs(os.path.join(root, 'gt'), exist_ok=True)
    os.makedirs(os.path.join(root, 'det'), exist_ok=True)
    rng = np.random.default_rng(cfg['seed'])
    rng_scene = np.random.default_rng(cfg['seed'] + 1)
    rng_app = np.random.default_rng(cfg['seed'] + 2)
    rng_det = np.random.default_rng(cfg['seed'] + 3)
    rng_noise = np.random.default_rng(cfg['seed'] + 4)
    W, H, N, fps = cfg['W'], cfg['H'], cfg['N'], cfg['fps']
    cams = make_cams(cfg)
    scene = Scene(cfg, rng_scene)
    props = make_props(cfg, rng_scene, cams)
    groups = Sched(cfg, cams, rng, props).run()
    people = build_tracks(groups, cfg, rng_app)
    det = Detector(cfg, rng_det)
    Lv = cfg['light']
    lsign = 1.0 if Lv[0] < 0 else -1.0
    static = cfg.get('yaw') is None
    bg_static = None
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    rr = ((xx - W / 2) ** 2 + (yy - H / 2) ** 2) / ((W / 2) ** 2 + (H / 2) ** 2)
    vign = (1 - 0.22 * rr)[..., None]
    gain_ph = rng_noise.uniform(0, 6.28)
    tint0 = rng_noise.uniform(-0.03, 0.03, 3)
    gt_rows, det_rows = [], []
    first_seen = {}

    def prop_shadows(cam, smask):
        for p in props:
            rad, hh = prop_footprint(p)
            if p['type'] == 'tree':
                poly = shadow_poly(cam, p['X'] + Lv[0] * 3.5, p['Y'] + Lv[1] * 3.5, rad, 0.0, Lv)
            else:
                poly = shadow_poly(cam, p['X'], p['Y'], rad, hh, Lv)
            if poly is not None:
                cv2.fillPoly(smask, [poly], 1.0, cv2.LINE_8, 3)

    for t in range(N):
        cam = cams[t]
        if static and bg_static is not None:
            img = bg_static.copy()
        else:
            bg = scene.render(cam)
            sm = np.zeros((H, W), np.float32)
            prop_shadows(cam, sm)
            sm = cv2.GaussianBlur(sm, (0, 0), 2.0)
            bg *= (1 - cfg['shadow'] * sm)[..., None]
            if static:
                bg_static = bg
            img = bg.copy()
        # person shadows
        sm = np.zeros((H, W), np.float32)
        states = []
        for pi, p in enumerate(people):
            i = t - p['t0']
            if i < 0 or i >= len(p['XY']):
                continue
            X, Y = p['XY'][i]
            if cam.outside(X, Y) and cam.outside(X + 1.0, Y) and cam.outside(X - 1.0, Y):
                continue
            poly = shadow_poly(cam, X, Y, 0.22, p['app']['H'] * 0.7, Lv, 0.16)
            if poly is not None:
                cv2.fillPoly(sm, [poly], 0.8, cv2.LINE_8, 3)
            poly = shadow_poly(cam, X, Y, 0.2, 0.0, Lv, 0.14)
            if poly is not None:
                cv2.fillPoly(sm, [poly], 1.0, cv2.LINE_8, 3)
            st = dict(X=X, Y=Y, hd=p['hd'][i], phi=p['phi'][i], amp=p['amp'][i], lsign=lsign)
            states.append((pi, st))
        if states:
            sm = cv2.GaussianBlur(sm, (0, 0), 1.5)
            img *= (1 - cfg['shadow'] * sm)[..., None]
        idb = np.zeros((H, W), np.int16)
        objs = []
        for k, p in enumerate(props):
            _, _, z = cam.project([p['X'], p['Y'], 0.0])
            objs.append((float(z), 'prop', k, None))
        rendered = {}
        for pi, st in states:
            r = render_person(people[pi]['app'], st, cam)
            if r is not None:
                rendered[pi] = r
                objs.append((r['z'], 'person', pi, r))
        objs.sort(key=lambda o: -o[0])
        for z, typ, k, r in objs:
            if typ == 'prop':
                draw_prop(props[k], cam, img, idb)
                continue
            x0, y0 = r['x0'], r['y0']
            ph, pw = r['mask'].shape
            ax0, ay0, ax1, ay1 = max(0, x0), max(0, y0), min(W, x0 + pw), min(H, y0 + ph)
            if ax1 <= ax0 or ay1 <= ay0:
                r['inimg'] = 0
                continue
            sl = (slice(ay0 - y0, ay1 - y0), slice(ax0 - x0, ax1 - x0))
            a = r['alpha'][sl][..., None]
            img[ay0:ay1, ax0:ax1] = img[ay0:ay1, ax0:ax1] * (1 - a) + r['col'][sl] * a
            m = r['mask'][sl]
            idb[ay0:ay1, ax0:ax1][m] = k + 1
            r['inimg'] = int(m.sum())
            r['clip'] = (ax0, ay0, ax1, ay1)
        # gt
        fobjs = []
        for pi, r in rendered.items():
            if r.get('inimg', 0) <= 0:
                continue
            total = int(r['mask'].sum())
            ax0, ay0, ax1, ay1 = r['clip']
            vm = idb[ay0:ay1, ax0:ax1] == pi + 1
            vis = float(vm.sum()) / max(1, total)
            vbox = None
            if vm.any():
                ys = np.where(vm.any(1))[0]
                xs = np.where(vm.any(0))[0]
                vbox = [ax0 + xs[0], ay0 + ys[0], ax0 + xs[-1] + 1, ay0 + ys[-1] + 1]
            if pi not in first_seen:
                first_seen[pi] = len(first_seen) + 1
            gid = first_seen[pi]
            b = r['box']
            gt_rows.append((t + 1, gid, b[0], b[1], b[2] - b[0], b[3] - b[1], 1, 1, round(vis, 3)))
            fobjs.append(dict(pid=gid, box=list(b), vis=vis, vbox=vbox, Hp=r['Hp']))
        for b, sc in det.frame(fobjs, props, cam):
            det_rows.append((t + 1, -1, b[0], b[1], b[2] - b[0], b[3] - b[1], sc))
        # camera effects
        tt = t / fps
        gain = 1 + cfg['gain_amp'] * math.sin(2 * math.pi * tt / 9.0 + gain_ph) \
            + 0.3 * cfg['gain_amp'] * math.sin(2 * math.pi * tt / 2.3)
        tint = 1 + tint0 * math.sin(2 * math.pi * tt / 13.0)
        img *= (gain * tint).astype(np.float32)[None, None, :]
        img *= vign
        img = cv2.GaussianBlur(img, (0, 0), cfg['blur'])
        sig = cfg['noise']
        nz = rng_noise.standard_normal((H, W), dtype=np.float32)[..., None] * sig
        nz = nz + rng_noise.standard_normal((H, W, 3), dtype=np.float32) * (sig * 0.5)
        img += nz * np.sqrt(np.clip(img, 10, 255) / 128.0)
        out = np.clip(img, 0, 255).astype(np.uint8)[..., ::-1]
        cv2.imwrite(os.path.join(root, 'img1', '%06d.jpg' % (t + 1)), out, [cv2.IMWRITE_JPEG_QUALITY, 90])
    gt_rows.sort(key=lambda r: (r[0], r[1]))
    with open(os.path.join(root, 'gt', 'gt.txt'), 'w') as f:
        for r in gt_rows:
            f.write('%d,%d,%.2f,%.2f,%.2f,%.2f,%d,%d,%.3f\n' % r)
    with open(os.path.join(root, 'det', 'det.txt'), 'w') as f:
        for r in det_rows:
            f.write('%d,%d,%.2f,%.2f,%.2f,%.2f,%.4f,-1,-1,-1\n' % r)
    with open(os.path.join(root, 'seqinfo.ini'), 'w') as f:
        f.write('[Sequence]\nname=%s\nimDir=img1\nframeRate=%d\nseqLength=%d\nimWidth=%d\nimHeight=%d\n'
                'imExt=.jpg\n' % (name, fps, N, W, H))
    return name, len(first_seen), len(gt_rows), len(det_rows)


def _job(args):
    import time
    cfg, out = args
    t0 = time.time()
    r = gen_sequence(cfg, out)
    return r + (round(time.time() - t0, 1),)


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        sys.exit(1)
    out = sys.argv[1]
    names = set(sys.argv[2:])
    cfgs = [c for c in SEQS if not names or c['name'] in names]
    os.makedirs(out, exist_ok=True)
    from multiprocessing import Pool
    order = sorted(cfgs, key=lambda c: -c['W'] * c['H'] * c['N'])
    with Pool(min(2, len(order))) as pool:
        for r in pool.imap_unordered(_job, [(c, out) for c in order]):
            print('%s: ids=%d gt_rows=%d det_rows=%d time=%.1fs' % r, flush=True)


if __name__ == '__main__':
    main()
