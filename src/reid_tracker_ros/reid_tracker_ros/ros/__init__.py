"""ROS-facing helpers: message <-> numpy conversions, QoS profiles, parameter loading.

Everything ROS-specific that is not a node lives here, so the nodes stay thin shells and
the cores (detection, embedding, tracking, mot) never import rclpy.
"""
