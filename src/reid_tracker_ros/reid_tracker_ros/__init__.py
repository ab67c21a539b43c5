"""reid_tracker_ros: real-time multi-person tracking with re-identification on ROS 2.

Pure cores live in ``detection``, ``embedding``, ``tracking`` and ``mot`` (no ROS imports);
``nodes`` holds the thin rclpy shells and ``ros`` the message conversions.
"""

__version__ = "0.1.0"
