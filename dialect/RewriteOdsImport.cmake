# cmake -DIN=<generated.py> -DOUT=<module.py> -P RewriteOdsImport.cmake
# mlir-tblgen's Python bindings import `._ods_common` relative to
# mlir.dialects; ours live in tile/_lib, so the import becomes absolute.
file(READ "${IN}" text)
string(REGEX REPLACE "\nfrom \\._ods_common import" "\nfrom mlir.dialects._ods_common import"
       text "${text}")
if(NOT text MATCHES "from mlir\\.dialects\\._ods_common import")
  message(FATAL_ERROR "${IN}: no `from ._ods_common import` to rewrite")
endif()
file(WRITE "${OUT}" "${text}")
