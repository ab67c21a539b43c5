"""Global identities across cameras, time and restarts (the identity node's pure core)."""
from .assign import IdentityAssigner, IdentityConfig, TrackSummary
from .gallery import IdentityGallery, IdentityInfo
from .index import HAVE_FAISS, PrototypeIndex
from .store import load, save_atomic

__all__ = ["HAVE_FAISS", "IdentityAssigner", "IdentityConfig", "IdentityGallery", "IdentityInfo",
           "PrototypeIndex", "TrackSummary", "load", "save_atomic"]
