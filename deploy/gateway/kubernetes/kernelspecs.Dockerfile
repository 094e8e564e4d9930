# A kernelspecs data image for the Enterprise Gateway Helm chart (`kernelspecs.image`): our
# Kubernetes kernelspec, with the launcher scripts of the Enterprise Gateway release it runs
# under (taken from that release's own image, so they always match it).
#
#   docker build -f deploy/gateway/kubernetes/kernelspecs.Dockerfile \
#     -t sandbox-analyst-kernelspecs:0.1.0 .
ARG EG_VERSION=3.3.0
FROM elyra/enterprise-gateway:${EG_VERSION} AS gateway

FROM busybox:1.36
COPY --from=gateway /usr/local/share/jupyter/kernels/python_kubernetes/scripts \
     /kernels/analyst_python_kubernetes/scripts
COPY deploy/gateway/kubernetes/kernel.json /kernels/analyst_python_kubernetes/kernel.json
# The chart's init container copies /kernels into the gateway's kernelspec directory.
CMD ["true"]
