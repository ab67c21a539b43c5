"""The part every launch file ends with: its arguments declared, then its actions made once
they are known (OpaqueFunction). ``launch`` is imported when called, from inside a launch file."""
from __future__ import annotations

from collections.abc import Callable


def launch_description(arguments: dict[str, tuple[str, str]], actions: Callable):
    """LaunchDescription: one DeclareLaunchArgument per ``name: (default, description)``, then
    ``actions(context)`` (an OpaqueFunction returning the launch's actions)."""
    from launch import LaunchDescription
    from launch.actions import DeclareLaunchArgument, OpaqueFunction

    return LaunchDescription(
        [DeclareLaunchArgument(name, default_value=default, description=text)
         for name, (default, text) in arguments.items()]
        + [OpaqueFunction(function=actions)])
