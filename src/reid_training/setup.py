"""ament_python package for offline ReID/GAN training (torch, no ROS); its command-line tools
are the console scripts below. It depends on reid_tracker_ros's pure cores (package.xml)."""
from setuptools import find_packages, setup

PACKAGE = "reid_training"

setup(
    name=PACKAGE,
    version="0.1.0",
    packages=find_packages(exclude=["test", "tests"]),
    data_files=[
        ("share/ament_index/resource_index/packages", [f"resource/{PACKAGE}"]),
        (f"share/{PACKAGE}", ["package.xml"]),
    ],
    install_requires=["setuptools"],
    zip_safe=True,
    maintainer="reid_tracker maintainers",
    maintainer_email="maintainers@reid-tracker.invalid",
    description="Offline ReID and GAN training for reid_tracker_ros",
    license="MIT",
    entry_points={"console_scripts": [
        "reid-gan = reid_training.gan.cli:main",
        "reid-gan-study = reid_training.gan_study:main",
        "reid-evaluate = reid_training.evaluate:main",
        "reid-synthetic-persons = reid_training.data.synthetic:main",
        "reid-mot-crops = reid_training.data.mot_crops:main",
        "reid-train = reid_training.train:main",
        "reid-export = reid_training.export:main",
        "reid-adapt = reid_training.adapt_camera:main",
        "reid-bench-embedder = reid_training.bench_embedder:main",
    ]},
)
