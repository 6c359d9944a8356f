# Cython declarations for slots.py (used only when compiled; see document.pxd).
cimport cython

@cython.locals(diagnoses=Py_ssize_t, unreadable=bint, pos=Py_ssize_t, n=Py_ssize_t, el_start=Py_ssize_t, value=str, qual=str, sep=str, rest=str, code=str, found=tuple)
cpdef tuple hi_codes(Py_ssize_t start, str raw, str element, str comp)
