"""A Brian 2 reproduction of Diehl & Cook (2015), unsupervised digit recognition
with spike-timing-dependent plasticity. See README.md and the documentation in docs/."""
__version__ = "0.7.0"
