"""Frame readers for users without a camera driver (pure OpenCV, no ROS): a video file, a
webcam by index, or a folder of images (a MOTChallenge ``img1/``, or the sequence folder
holding it). Each yields BGR uint8 frames with their index and knows its nominal frame rate,
so the source node can play at that rate, or as fast as the graph takes them.
"""
from __future__ import annotations

import configparser
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
DEFAULT_FPS = 30.0  # folders without seqinfo.ini and cameras that do not report a rate


@dataclass
class Frame:
    index: int  # 0-based position in the source (after start_frame: counts from start_frame)
    image: np.ndarray  # HxWx3 uint8 BGR


class FrameReader:
    """Base: ``open()`` then ``read()`` until None; ``rewind()`` for looping."""

    name = "source"
    fps: float = DEFAULT_FPS
    frame_count: int | None = None  # None: unknown / endless (webcam)
    width: int = 0
    height: int = 0

    def read(self) -> Frame | None:
        raise NotImplementedError

    def rewind(self) -> bool:
        """Go back to the first frame; False when the source cannot (a webcam)."""
        return False

    def close(self) -> None:
        pass

    def __enter__(self) -> "FrameReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class _CaptureReader(FrameReader):
    """Frames from an OpenCV ``VideoCapture`` (``self._cap``), numbered from ``self._index``."""

    _cap: cv2.VideoCapture
    _index: int

    def read(self) -> Frame | None:
        ok, image = self._cap.read()
        if not ok or image is None:
            return None
        frame = Frame(self._index, image)
        self._index += 1
        return frame

    def close(self) -> None:
        self._cap.release()


class VideoFileReader(_CaptureReader):
    """A video file through OpenCV (FFmpeg backend): avi, mp4, mkv, ..."""

    def __init__(self, path: str | Path, start_frame: int = 0) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"video file not found: {self.path}")
        self.name = self.path.name
        self.start_frame = start_frame
        self._cap = cv2.VideoCapture(str(self.path))
        if not self._cap.isOpened():
            raise ValueError(f"OpenCV cannot open video file {self.path} (not a video, or a codec "
                             "this OpenCV build lacks)")
        fps = float(self._cap.get(cv2.CAP_PROP_FPS) or 0.0)
        self.fps = fps if np.isfinite(fps) and 0 < fps < 1000 else DEFAULT_FPS
        count = int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        self.frame_count = max(0, count - start_frame) if count > 0 else None
        self.width = int(self._cap.get(cv2.CAP_PROP_FRAME_WIDTH))
        self.height = int(self._cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        self._index = 0
        self._seek_start()

    def _seek_start(self) -> None:
        self._index = 0
        self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
        for _ in range(self.start_frame):  # grab() is exact where POS_FRAMES seeking is not
            if not self._cap.grab():
                raise ValueError(f"{self.path} has fewer than start_frame={self.start_frame} frames")

    def rewind(self) -> bool:
        self._seek_start()
        return True


class CameraReader(_CaptureReader):
    """A webcam (V4L2 device index) through OpenCV, for a quick test without a ROS driver."""

    def __init__(self, index: int, fps: float = 0.0) -> None:
        self.name = f"camera {index}"
        self._cap = cv2.VideoCapture(index)
        if not self._cap.isOpened():
            raise ValueError(f"cannot open camera {index} (/dev/video{index}): not present, busy, or no "
                             "permission (is the user in the 'video' group?)")
        if fps > 0:
            self._cap.set(cv2.CAP_PROP_FPS, fps)
        reported = float(self._cap.get(cv2.CAP_PROP_FPS) or 0.0)
        self.fps = reported if 0 < reported < 1000 else DEFAULT_FPS
        self.width = int(self._cap.get(cv2.CAP_PROP_FRAME_WIDTH))
        self.height = int(self._cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        self._index = 0


def _seqinfo_frame_rate(folder: Path) -> float | None:
    """frameRate of a MOTChallenge seqinfo.ini beside or above the image folder."""
    for ini in (folder / "seqinfo.ini", folder.parent / "seqinfo.ini"):
        if ini.is_file():
            cfg = configparser.ConfigParser()
            try:
                cfg.read(ini)
                rate = float(cfg["Sequence"]["frameRate"])
            except (KeyError, ValueError, configparser.Error):
                return None
            return rate if rate > 0 else None
    return None


class ImageFolderReader(FrameReader):
    """Images of a folder in file-name order (MOTChallenge: img1/000001.jpg, ...). A sequence
    folder holding img1/ is accepted too; its seqinfo.ini gives the frame rate."""

    def __init__(self, folder: str | Path, start_frame: int = 0) -> None:
        folder = Path(folder)
        if not folder.is_dir():
            raise FileNotFoundError(f"image folder not found: {folder}")
        if (folder / "img1").is_dir():
            folder = folder / "img1"
        self.folder = folder
        self.name = folder.parent.name if folder.name == "img1" else folder.name
        self.paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not self.paths:
            raise ValueError(f"no images ({', '.join(IMAGE_SUFFIXES)}) in {folder}")
        if start_frame >= len(self.paths):
            raise ValueError(f"{folder} holds {len(self.paths)} images, start_frame={start_frame} is past the end")
        self.paths = self.paths[start_frame:]
        self.fps = _seqinfo_frame_rate(folder) or DEFAULT_FPS
        self.frame_count = len(self.paths)
        first = cv2.imread(str(self.paths[0]))
        if first is None:
            raise ValueError(f"cannot read image {self.paths[0]}")
        self.height, self.width = first.shape[:2]
        self._index = 0

    def read(self) -> Frame | None:
        if self._index >= len(self.paths):
            return None
        path = self.paths[self._index]
        image = cv2.imread(str(path))
        if image is None:
            raise ValueError(f"cannot read image {path} (corrupt or not an image)")
        self._index += 1
        return Frame(self._index - 1, image)

    def rewind(self) -> bool:
        self._index = 0
        return True


def open_source(uri: str, start_frame: int = 0, camera_fps: float = 0.0) -> FrameReader:
    """A reader for ``uri``: an integer (webcam index, '/dev/videoN' too), a folder of images,
    or a video file. Errors name the path and what is wrong with it."""
    uri = str(uri).strip()
    if not uri:
        raise ValueError("no source given: pass a video file, a webcam index (0) or an image folder")
    if start_frame < 0:
        raise ValueError(f"start_frame must be >= 0, got {start_frame}")
    if uri.isdigit():
        return CameraReader(int(uri), camera_fps)
    if uri.startswith("/dev/video") and uri[len("/dev/video"):].isdigit():
        return CameraReader(int(uri[len("/dev/video"):]), camera_fps)
    path = Path(uri).expanduser()
    if path.is_dir():
        return ImageFolderReader(path, start_frame)
    if path.is_file():
        return VideoFileReader(path, start_frame)
    raise FileNotFoundError(f"source not found: {uri} (neither a video file, an image folder nor a webcam "
                            "index)")


def iterate(reader: FrameReader, max_frames: int = 0, loop: bool = False) -> Iterator[Frame]:
    """Frames of ``reader`` (up to ``max_frames`` per pass, 0 = all), again from the start when
    ``loop``; indices keep counting across passes so stamps stay unique."""
    sent = 0
    while True:
        in_pass = 0
        while not max_frames or in_pass < max_frames:
            frame = reader.read()
            if frame is None:
                break
            yield Frame(sent, frame.image)
            sent += 1
            in_pass += 1
        if not loop or in_pass == 0 or not reader.rewind():
            return
