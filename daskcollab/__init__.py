"""daskcollab: fit committees of scikit-learn models in parallel on Dask.

The public API is what this module exports; everything else is internal.
"""

from daskcollab.cluster import start_cluster
from daskcollab.dispatch import fit_parallel
from daskcollab.distill import distill
from daskcollab.diversity import diversity
from daskcollab.fedavg import FedAvgResult, fedavg
from daskcollab.measure import SpeedupResult, compare_accuracy, measure_speedup
from daskcollab.partition import Partition, partition
from daskcollab.plotting import plot_accuracy, plot_shards, plot_speedup, plot_task_stream, plot_weights
from daskcollab.results import FitResult, MemberFailure, MemberTiming
from daskcollab.stacking import StackingClassifier
from daskcollab.voting import WeightedVotingClassifier, WeightedVotingRegressor

__all__ = [
    "start_cluster",
    "fit_parallel",
    "FitResult",
    "MemberTiming",
    "MemberFailure",
    "WeightedVotingClassifier",
    "WeightedVotingRegressor",
    "StackingClassifier",
    "partition",
    "Partition",
    "fedavg",
    "FedAvgResult",
    "distill",
    "diversity",
    "compare_accuracy",
    "plot_accuracy",
    "plot_task_stream",
    "plot_speedup",
    "plot_weights",
    "plot_shards",
    "measure_speedup",
    "SpeedupResult",
]
__version__ = "0.1.0"
