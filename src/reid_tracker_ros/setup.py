"""ament_python package: nodes and their pure cores. Launch and config files come from the
workspace's top-level ``launch/`` and ``config/`` (linked here) so one copy serves both
``ros2 launch reid_tracker_ros ...`` and the local runner."""
from glob import glob

from setuptools import find_packages, setup

PACKAGE = "reid_tracker_ros"

setup(
    name=PACKAGE,
    version="0.1.0",
    packages=find_packages(exclude=["test", "tests"]),
    # the shipped default ReID model (ONNX + its metadata JSON) travels inside the package
    package_data={PACKAGE: ["models/*.onnx", "models/*.json"]},
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (f"share/{PACKAGE}", ["package.xml"]),
        (f"share/{PACKAGE}/launch", glob("launch/*.launch.py")),
        (f"share/{PACKAGE}/config", glob("config/*.yaml") + glob("config/*.xml") + glob("config/*.rviz")),
        (f"share/{PACKAGE}/config/trackers", glob("config/trackers/*.yaml")),
    ],
    install_requires=["setuptools"],
    zip_safe=True,
    maintainer="reid_tracker maintainers",
    maintainer_email="maintainers@reid-tracker.invalid",
    description="Real-time multi-person tracking with re-identification on ROS 2",
    license="MIT",
    entry_points={
        "console_scripts": [
            "detector_node = reid_tracker_ros.nodes.detector_node:main",
            "embedder_node = reid_tracker_ros.nodes.embedder_node:main",
            "tracker_node = reid_tracker_ros.nodes.tracker_node:main",
            "identity_node = reid_tracker_ros.nodes.identity_node:main",
            "source_node = reid_tracker_ros.nodes.source_node:main",
            "visualizer_node = reid_tracker_ros.nodes.visualizer_node:main",
            "demo_video = reid_tracker_ros.tools.demo_video:main",
            "mot_to_bag = reid_tracker_ros.mot.bag_writer:main",
            "make_synthetic = reid_tracker_ros.mot.synthetic:main",
            "evaluate = reid_tracker_ros.tools.evaluate:main",
            "run_graph = reid_tracker_ros.runner:main",
        ],
    },
)
