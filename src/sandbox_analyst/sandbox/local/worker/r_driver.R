# The session's R process: runs the R cells its worker sends, one at a time, like R's own
# console (each top-level expression in turn, visible values printed, warnings shown as they
# come, the first error stops the cell), in the global environment, which persists.
#
# Started by the worker (`r_session.py`) with: requests-path replies-path plot-dir width height
# resolution. Both channels carry messages of fields: a line "<kind> <count>" (requests: just
# "<count>"), then each field as a line "<bytes>" and that many bytes of UTF-8. A request is
# the cell's code, then name/value pairs of environment variables for that cell. A reply is
# "ready", "ok", "interrupted" or "error" with the condition's class, message and R's report.
#
# Plots go to PNG files in plot-dir: the `device` option opens one PNG device whenever a plot
# needs one, and every such device is closed at the end of the cell, so the worker finds each
# page of the cell's plots as a file there.
local({
  args <- commandArgs(trailingOnly = TRUE)
  requests <- file(args[[1L]], open = "rb")
  replies <- file(args[[2L]], open = "wb")
  plot_dir <- args[[3L]]
  size <- as.numeric(args[4:6])
  devices <- integer()
  opened <- 0L

  options(device = function(...) {
    opened <<- opened + 1L
    pattern <- file.path(plot_dir, sprintf("plot-%05d-%%03d.png", opened))
    grDevices::png(pattern, width = size[[1L]], height = size[[2L]], res = size[[3L]],
                   type = "cairo")
    devices <<- c(devices, grDevices::dev.cur())
  })

  read_fields <- function() {
    header <- readLines(requests, n = 1L)
    if (length(header) == 0L) return(NULL)  # the worker closed the channel: its end
    lapply(seq_len(as.integer(header)), function(i) {
      bytes <- as.integer(readLines(requests, n = 1L))
      if (bytes == 0L) return("")
      text <- readChar(requests, bytes, useBytes = TRUE)
      Encoding(text) <- "UTF-8"
      text
    })
  }

  reply <- function(kind, fields = character()) {
    fields <- enc2utf8(as.character(fields))
    sizes <- nchar(fields, type = "bytes")
    body <- paste0(sprintf("%d\n", sizes), fields, collapse = "")
    writeBin(charToRaw(paste0(sprintf("%s %d\n", kind, length(fields)), body)), replies)
    flush(replies)
  }

  our_eval <- quote(eval(expr, envir = globalenv()))

  report <- function(condition) {
    call <- conditionCall(condition)
    message <- conditionMessage(condition)
    shown <- if (is.null(call) || identical(call, our_eval)) {
      paste0("Error: ", message)
    } else {
      paste0("Error in ", paste(deparse(call, nlines = 1L), collapse = ""), " : ", message)
    }
    c(class(condition)[[1L]], message, shown)
  }

  warn <- function(condition) {
    call <- conditionCall(condition)
    where <- if (is.null(call) || identical(call, our_eval)) "" else
      paste0("In ", paste(deparse(call, nlines = 1L), collapse = ""), " : ")
    message("Warning message:\n", where, conditionMessage(condition))
    invokeRestart("muffleWarning")
  }

  run_cell <- function(code) {
    exprs <- tryCatch(parse(text = code, keep.source = FALSE), error = function(e) e)
    if (inherits(exprs, "error")) {
      return(list("error", c("ParseError", conditionMessage(exprs), conditionMessage(exprs))))
    }
    for (expr in exprs) {
      failure <- tryCatch(
        withCallingHandlers({
          shown <- withVisible(eval(expr, envir = globalenv()))
          if (shown$visible) {
            if (isS4(shown$value)) methods::show(shown$value) else print(shown$value)
          }
          NULL
        }, warning = warn),
        error = function(e) list("error", report(e)),
        interrupt = function(i) list("interrupted", character())
      )
      if (!is.null(failure)) return(failure)
    }
    list("ok", character())
  }

  close_plots <- function() {
    for (device in intersect(devices, grDevices::dev.list())) grDevices::dev.off(device)
    devices <<- integer()
  }

  reply("ready")
  repeat {
    fields <- read_fields()
    if (is.null(fields)) break
    names <- unlist(fields[-1L][c(TRUE, FALSE)])
    values <- unlist(fields[-1L][c(FALSE, TRUE)])
    saved <- if (length(names)) Sys.getenv(names, unset = NA) else character()
    if (length(names)) do.call(Sys.setenv, as.list(stats::setNames(values, names)))
    outcome <- tryCatch(run_cell(fields[[1L]]),
                        interrupt = function(i) list("interrupted", character()))
    if (length(names)) {
      Sys.unsetenv(names[is.na(saved)])
      kept <- saved[!is.na(saved)]
      if (length(kept)) do.call(Sys.setenv, as.list(kept))
    }
    tryCatch(close_plots(), error = function(e) NULL)
    flush(stdout())
    flush(stderr())
    reply(outcome[[1L]], outcome[[2L]])
  }
})
quit(save = "no")
