"""vitiseg: U-Net segmentation of vineyard photographs."""

__version__ = "0.1.0"
