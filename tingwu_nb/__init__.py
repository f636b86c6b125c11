"""tingwu_nb: Alibaba Cloud Tingwu real-time recording in Jupyter (public API filled in by tingwu_nb/__init__)."""
