"""SGD and Adam for stacked parameters, with one value of each hyperparameter per member.

``torch.optim`` holds one value per param group, and a stacked tensor is one group, so a
vectorised population needs optimizers whose hyperparameters are [K] tensors broadcast along
the leading member axis of each parameter. They issue the same kernels, in the same order, as
``torch.optim.SGD`` / ``Adam`` / ``AdamW`` with ``foreach=False``, so member k follows exactly the
trajectory its own ``torch.optim`` optimizer would.
"""

from populace.torch._optim._adam import VectorAdam, VectorAdamW
from populace.torch._optim._sgd import VectorSGD

__all__ = ["VectorAdam", "VectorAdamW", "VectorSGD"]
