# Cython declarations for document.py (read only when the module is compiled: the .py stays
# plain Python and is what runs without a compiler). The walk's state as C fields and its loop's
# offsets as C integers.
cimport cython

cdef class _Walk:
    cdef public object text, d, problems, on_claim, component, claims, spans, kinds, kind
    cdef public object isa, gs, st, claim, claim_codes, claim_pointers, line
    cdef public object level, subscriber_dmg, patient_dmg
    cdef public object envs, demos, marks, se_starts, se_marks, se_sts, segs
    cdef public object st_count, _env, _demo, _demos, converge, highest, _line_segments, _dtps, stopped_at
    cdef public bint component_checked, subscriber_is_patient
    cdef public Py_ssize_t sets_in_group, groups_in_interchange, count_at, count_n

    @cython.locals(start=Py_ssize_t, at=Py_ssize_t, n=Py_ssize_t, top=Py_ssize_t, raw=str, seg_id=str, element=str, terminator=str)
    cpdef run(self, resume=*)
    @cython.locals(limit=Py_ssize_t, top=Py_ssize_t)
    cpdef _close_claim(self)
