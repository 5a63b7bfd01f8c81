// RUN: kiln-opt %s -kiln-emit-entry-points=target=tpu -verify-diagnostics

// expected-error @+1 {{unknown artifact target 'tpu'}}
module {
  llvm.func @main() attributes {kiln.inputs = [], kiln.outputs = []} {
    llvm.return
  }
}
