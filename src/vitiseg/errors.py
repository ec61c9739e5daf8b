"""User-facing errors: the CLI prints their message and exits with code 2."""


class VitisegError(Exception):
    """A mistake in the user's input that vitiseg can explain (bad data, options, files)."""


class DataError(VitisegError):
    """A photo, mask or dataset folder that cannot be used as it is."""


class ConfigError(VitisegError):
    """Options that contradict each other or the data."""


class WeightsError(VitisegError):
    """Model weights that cannot be found, downloaded or trusted."""


class TrainingFault(Exception):
    """Training stopped on a fault (NaN loss, full disk); the last good checkpoint is kept."""
