# shoal-sim privacy: R11 through the binary (--format json), the inverse, and
# clear errors for invalid settings.
execute_process(COMMAND "${SIM}" privacy --noise 1.1 --sample-rate 0.01 --steps 10000 --delta 1e-5 --format json
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "privacy failed: rc=${rc} ${out}${err}")
endif()
string(JSON eps GET "${out}" epsilon_rdp)
string(JSON order GET "${out}" best_order)
string(JSON pld GET "${out}" epsilon_pld)
# 5.632 to 3 decimals: [5.6315, 5.6325) (R11: 5.63199236868).
if(NOT eps MATCHES "^5\\.(631[5-9]|632[0-4])")
  message(FATAL_ERROR "epsilon_rdp ${eps}, expected 5.632 (R11)")
endif()
if(NOT order MATCHES "^4\\.7")
  message(FATAL_ERROR "best_order ${order}, expected 4.7")
endif()
if(NOT pld MATCHES "^[0-5]\\.")
  message(FATAL_ERROR "epsilon_pld ${pld} should be below epsilon_rdp ${eps}")
endif()
execute_process(COMMAND "${SIM}" privacy --target-epsilon 8 --sample-rate 0.04 --steps 2000 --delta 1e-5 --format json
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
string(JSON noise GET "${out}" noise)
if(NOT rc EQUAL 0 OR NOT noise MATCHES "^1\\.3")
  message(FATAL_ERROR "target epsilon: rc=${rc} noise=${noise} ${err}")
endif()
foreach(bad "--noise;-1;--sample-rate;0.01;--steps;10" "--noise;1;--sample-rate;1.5;--steps;10"
            "--noise;1;--sample-rate;0;--steps;10" "--noise;1;--sample-rate;0.1;--steps;10;--delta;1")
  execute_process(COMMAND "${SIM}" privacy ${bad} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(rc EQUAL 0 OR rc GREATER_EQUAL 128 OR NOT "${out}${err}" MATCHES "(noise multiplier|sample rate|delta)")
    message(FATAL_ERROR "privacy ${bad}: rc=${rc} ${out}${err}")
  endif()
endforeach()
