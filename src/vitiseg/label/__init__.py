"""The labelling page (``vitiseg label``): correct the model's masks in the browser, saved where train reads them."""

from vitiseg.label.folder import LabelFolder
from vitiseg.label.job import LabelJob, open_job
from vitiseg.label.server import LabelServer, serve_folder

__all__ = ["LabelFolder", "LabelJob", "LabelServer", "open_job", "serve_folder"]
