"""Frame sources without a camera driver (pure, no ROS): video files, webcams, image folders."""
from .readers import (DEFAULT_FPS, CameraReader, Frame, FrameReader, ImageFolderReader, VideoFileReader,
                      iterate, open_source)

__all__ = ["DEFAULT_FPS", "CameraReader", "Frame", "FrameReader", "ImageFolderReader",
           "VideoFileReader", "iterate", "open_source"]
