"""Thin rclpy shells: declare parameters, wire topics and QoS, convert messages, call a core."""
